// The virtual bus protocol (satmc.vbus.wire) for the rp2emu runner, on its generated
// constants: wire.json is written by `python -m satmc.ports`; no number is copied here.
"use strict";

const net = require("net");
const wire = require("./wire.json");

function frame(kind, payload) {
  const body = Buffer.from(payload || []);
  const head = Buffer.from([kind, body.length & 0xff, body.length >> 8]);
  return Buffer.concat([head, body]);
}

// One connection to the bus server, in one role. request() sends a message and resolves
// with the reply (kind, payload), in order: the protocol answers each message before the
// next. A target connection instead gets the bus's messages through onMessage, and
// answers each with reply().
class Connection {
  constructor(path, role, bus) {
    this.sock = net.createConnection(path);
    this.sock.setNoDelay && this.sock.setNoDelay(true);
    this.buf = Buffer.alloc(0);
    this.waiting = [];
    this.onMessage = null;
    this.closed = false;
    this.onClose = null;
    this.sock.on("data", (d) => this._data(d));
    this.sock.on("error", () => this._closed());
    this.sock.on("close", () => this._closed());
    this.ready = this.request(wire.HELLO, [role, ...Buffer.from(bus)]).then(([, p]) => {
      if (p[0] !== wire.ST_ACK) throw new Error(`the virtual bus has no bus named ${bus}`);
    });
  }

  _closed() {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new Error("bus connection closed"));
    if (this.onClose) this.onClose();
  }

  _data(d) {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= wire.HEADER_LEN) {
      const n = this.buf[1] | (this.buf[2] << 8);
      if (this.buf.length < wire.HEADER_LEN + n) return;
      const kind = this.buf[0];
      const payload = this.buf.subarray(wire.HEADER_LEN, wire.HEADER_LEN + n);
      this.buf = this.buf.subarray(wire.HEADER_LEN + n);
      const w = this.waiting.shift();
      if (w) w.resolve([kind, Buffer.from(payload)]);
      else if (this.onMessage) this.onMessage(kind, Buffer.from(payload));
    }
  }

  send(kind, payload) {
    if (!this.closed) this.sock.write(frame(kind, payload));
  }

  request(kind, payload) {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error("bus connection closed"));
      this.waiting.push({ resolve, reject });
      this.send(kind, payload);
    });
  }

  reply(kind, payload) {
    this.send(kind, payload);
  }

  close() {
    this.closed = true;
    this.sock.destroy();
  }
}

// A control request ({"op": ...}) -> the reply object (throws on {"error": ...}).
async function control(path, op, args) {
  const c = new Connection(path, wire.ROLE_CONTROL, "");
  try {
    await c.ready;
    const [, p] = await c.request(wire.CTRL, Buffer.from(JSON.stringify({ op, ...args })));
    const reply = JSON.parse(p.toString());
    if (reply.error) throw new Error(reply.error);
    return reply;
  } finally {
    c.close();
  }
}

// A long-lived control connection for the runner's frequent stimulus queries.
class Control {
  constructor(path) {
    this.conn = new Connection(path, wire.ROLE_CONTROL, "");
  }
  async call(op, args) {
    await this.conn.ready;
    const [, p] = await this.conn.request(wire.CTRL, Buffer.from(JSON.stringify({ op, ...args })));
    const reply = JSON.parse(p.toString());
    if (reply.error) throw new Error(reply.error);
    return reply;
  }
  close() {
    this.conn.close();
  }
}

module.exports = { wire, Connection, Control, control };

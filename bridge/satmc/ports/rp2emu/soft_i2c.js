// A bit-banged I2C bus (MicroPython's SoftI2C on two GPIOs) joined to a virtual bus as its
// controller: the pins' open-drain levels are decoded into START, address, bytes, ACKs and
// STOP, each sent to the bus server; the devices' answers (ACK bits, bytes read) are driven
// back onto SDA. Both lines have pull-ups: a line nobody pulls low reads high.
//
// The CPU is held (runner.hold()/release()) while the bus answers, so the bits the
// firmware samples next are ready: emulated time does not pass meanwhile (the devices
// answer at once, and do not stretch SCL).
//
// One gap: a byte is fetched from the device before the firmware's ACK or NACK of it is
// clocked (the bus protocol asks for the NACK with the read), so every byte is read as
// acknowledged; the firmware's NACK of its last byte is then seen on the wire, not by
// the device model.
"use strict";

const { wire, Connection } = require("./vbus.js");

const LOW = 0; // GPIOPinState.Low: the pin drives its line low

class SoftI2CBridge {
  constructor(runner, path, bus, scl, sda) {
    this.runner = runner;
    this.rp2040 = runner.rp2040;
    this.sclPin = this.rp2040.gpio[scl];
    this.sdaPin = this.rp2040.gpio[sda];
    this.conn = new Connection(path, wire.ROLE_CONTROLLER, bus);
    this.conn.ready.catch((e) => runner.log(`soft I2C on ${bus}: ${e.message}`));
    this.deviceSda = 1; // what the device drives (1: released)
    this.scl = 1;
    this.sda = 1;
    this.state = "idle";
    this.bits = 0;
    this.shift = 0;
    this.byte = 0;
    this.acked = false;
    this.inTransfer = false;
    this.sclPin.addListener(() => this.changed());
    this.sdaPin.addListener(() => this.changed());
    this.changed();
  }

  lines() {
    const scl = this.sclPin.value === LOW ? 0 : 1;
    const sda = this.sdaPin.value === LOW || !this.deviceSda ? 0 : 1;
    return [scl, sda];
  }

  drive() {
    const [scl, sda] = this.lines();
    this.sclPin.setInputValue(!!scl);
    this.sdaPin.setInputValue(!!sda);
    return [scl, sda];
  }

  // Hold the CPU until the bus answers; then run `then` with the reply.
  ask(kind, payload, then) {
    this.runner.hold();
    this.conn.request(kind, payload).then(
      ([, p]) => {
        then(p);
        this.drive();
        this.runner.release();
      },
      () => {
        then(Buffer.from([wire.ST_NO_BUS, 0, 0xff]));
        this.drive();
        this.runner.release();
      }
    );
  }

  changed() {
    const was = [this.scl, this.sda];
    const [scl, sda] = this.drive();
    this.scl = scl;
    this.sda = sda;
    if (scl && was[0]) {
      if (was[1] && !sda) return this.start();
      if (!was[1] && sda) return this.stop();
      return;
    }
    if (scl && !was[0]) return this.rising(sda);
    if (!scl && was[0]) return this.falling();
  }

  start() {
    this.state = "addr";
    this.bits = 0;
    this.shift = 0;
    this.deviceSda = 1;
  }

  stop() {
    this.deviceSda = 1;
    this.drive();
    if (this.inTransfer) {
      this.inTransfer = false;
      this.ask(wire.STOP, [], () => {});
    }
    this.state = "idle";
  }

  rising(sda) {
    if (this.state === "addr" || this.state === "write") {
      this.shift = ((this.shift << 1) | sda) & 0xff;
      this.bits++;
      if (this.bits === 8) {
        const b = this.shift;
        if (this.state === "addr") {
          this.rw = b & 1;
          this.inTransfer = true;
          this.ask(wire.START, [b >> 1, b & 1], (p) => {
            this.acked = p[0] === wire.ST_ACK;
          });
        } else {
          this.ask(wire.WRITE, [b], (p) => {
            this.acked = p[0] === wire.ST_ACK && p[1] === 1;
          });
        }
        this.state = this.state === "addr" ? "addr-ack" : "write-ack";
        this.bits = 0;
      }
    } else if (this.state === "read") {
      this.bits++;
    } else if (this.state === "read-ack") {
      this.state = sda ? "nacked" : "read-acked";
    }
  }

  falling() {
    switch (this.state) {
      case "addr-ack":
      case "write-ack":
        this.deviceSda = this.acked ? 0 : 1;
        this.state = this.state === "addr-ack" ? "addr-ack9" : "write-ack9";
        break;
      case "addr-ack9":
        this.deviceSda = 1;
        if (!this.acked) this.state = "nacked";
        else if (this.rw) this.fetch();
        else {
          this.state = "write";
          this.bits = 0;
          this.shift = 0;
        }
        break;
      case "write-ack9":
        this.deviceSda = 1;
        this.state = this.acked ? "write" : "nacked";
        this.bits = 0;
        this.shift = 0;
        break;
      case "read":
        if (this.bits < 8) this.deviceSda = (this.byte >> (7 - this.bits)) & 1;
        else {
          this.deviceSda = 1;
          this.state = "read-ack";
        }
        break;
      case "read-acked":
        this.fetch();
        break;
      case "nacked":
        this.deviceSda = 1;
        break;
    }
    this.drive();
  }

  fetch() {
    this.state = "read";
    this.bits = 0;
    this.ask(wire.READ, [1, 0], (p) => {
      this.byte = p[0] === wire.ST_ACK && p.length > 1 ? p[1] : 0xff;
      this.deviceSda = (this.byte >> 7) & 1;
    });
  }

  close() {
    this.conn.close();
  }
}

module.exports = { SoftI2CBridge };

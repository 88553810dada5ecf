#!/usr/bin/env node
// The official MicroPython rp2 image on an emulated RP2040 (rp2040js), joined to satmc's
// virtual I2C bus. satmc.sim.rp2emu starts it; see that module and README.md (rp2emu).
//
//   node runner.js --uf2 U --bootrom B --flash STATE --vbus SOCK --config JSON
//
// stdin/stdout are the chip's USB CDC serial (input paced to the CDC's 512-byte FIFO);
// stderr carries the runner's own lines, each starting "rp2emu:". --config (JSON):
//   {"freq": 100000,                           IPMB bit rate (wire time of every byte)
//    "hw": {"ipmb": [0, 1, 2, 3]},             hardware I2C pins per bus (I2C0/I2C1 by pin)
//    "soft": [{"bus": "board", "scl": 5, "sda": 4}],   SoftI2C buses
//    "pins": [6, 7], "adc": [26, 4],           pins and ADC channels fed from the simulator
//    "pullups": [0, 1, 2, 3, 4, 5]}            lines with external pull-ups
//
// What this adds to the emulator (it lacks them): I2C target mode (i2c_target.js), the
// flash erase/program ROM calls applied to the flash and kept in STATE (a file per board),
// a reboot on watchdog expiry or machine.reset() (the flash and the watchdog's reason and
// scratch registers survive it, as on the chip), pull-ups, ADC and pin levels from the
// simulator's stimulus, a tachometer's edges in emulated time.
//
// Signals: SIGUSR1 reboots the chip (a board reset); SIGUSR2 prints the statistics line;
// SIGTERM saves the flash and ends.
"use strict";

const fs = require("fs");
const { RP2040, USBCDC, ConsoleLogger, LogLevel } = require("rp2040js");
const { wire, Connection, Control } = require("./vbus.js");
const { I2CTargetMode } = require("./i2c_target.js");
const { SoftI2CBridge } = require("./soft_i2c.js");

const FLASH_SIZE = 2 * 1024 * 1024; // Raspberry Pi Pico: 2 MB
const CYCLE_NANOS = 8; // 125 MHz
const UF2_MAGIC = [0x0a324655, 0x9e5d5157, 0x0ab16f30];
const CDC_FIFO = 512;
const FLASH_START = 0x10000000;
const USB_SOF_RD = 0x48;
const USB_INTR_DEV_SOF = 1 << 17;
const USB_FRAME_NANOS = 1e6;
const I2C_R_STOP_DET = 1 << 9;
const I2C_R_TX_EMPTY = 1 << 4;
const I2C_IC_ENABLE = 0x6c;
const I2C_IDLE = 0; // rp2040js I2CState.Idle
const WATCHDOG = 0x40058;
const PIN_POLL_NANOS = 50e6; // pin levels and edge rates asked every 50 ms emulated
const ADC_HOLD_NANOS = 10e6; // an ADC value asked once per 10 ms emulated
const LAG_NANOS = 10e6; // how far emulated time may fall behind wall time and catch up

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, "")] = argv[i + 1];
  return out;
}

const opt = args(process.argv.slice(2));
const config = JSON.parse(opt.config || "{}");
const say = (line) => process.stderr.write(`rp2emu: ${line}\n`);

function loadUf2(path, flash) {
  const data = fs.readFileSync(path);
  if (data.length % 512) throw new Error(`${path}: not a UF2 file (size not a multiple of 512)`);
  for (let off = 0; off < data.length; off += 512) {
    const w = (i) => data.readUInt32LE(off + i);
    if (w(0) !== UF2_MAGIC[0] || w(4) !== UF2_MAGIC[1] || w(508) !== UF2_MAGIC[2]) {
      throw new Error(`${path}: block ${off / 512} is not a UF2 block`);
    }
    const addr = w(12) - 0x10000000;
    const n = w(16);
    if (addr < 0 || addr + n > FLASH_SIZE) throw new Error(`${path}: block outside the flash`);
    data.copy(flash, addr, off + 32, off + 32 + n);
  }
}

// The flash state: the UF2 image on a blank board, then every erase and program.
class Flash {
  constructor(path, uf2) {
    this.path = path;
    this.image = Buffer.alloc(FLASH_SIZE, 0xff);
    if (path && fs.existsSync(path) && fs.statSync(path).size === FLASH_SIZE) {
      fs.readFileSync(path).copy(this.image);
    } else {
      loadUf2(uf2, this.image);
      if (path) fs.writeFileSync(path, this.image);
    }
    this.fd = path ? fs.openSync(path, "r+") : null;
    this.erases = 0;
    this.programs = 0;
  }

  persist(offset, n) {
    if (this.fd !== null) fs.writeSync(this.fd, this.image, offset, n, offset);
  }

  erase(offset, count) {
    if (offset < 0 || offset + count > FLASH_SIZE) return;
    this.image.fill(0xff, offset, offset + count);
    this.erases++;
    this.persist(offset, count);
  }

  program(offset, bytes) {
    if (offset < 0 || offset + bytes.length > FLASH_SIZE) return;
    for (let i = 0; i < bytes.length; i++) this.image[offset + i] &= bytes[i]; // NOR: 1 -> 0
    this.programs++;
    this.persist(offset, bytes.length);
  }
}

// The boot ROM's function table: code ('R','E') -> address.
function romFunction(rp2040, c1, c2) {
  const code = c1.charCodeAt(0) | (c2.charCodeAt(0) << 8);
  let p = rp2040.readUint16(0x14);
  for (;;) {
    const c = rp2040.readUint16(p);
    if (!c) return null;
    if (c === code) return rp2040.readUint16(p + 2) & ~1;
    p += 4;
  }
}

class Runner {
  constructor() {
    this.bootrom = fs.readFileSync(opt.bootrom);
    if (this.bootrom.length !== 16384) throw new Error(`${opt.bootrom}: not a 16 KB boot ROM`);
    this.flash = new Flash(opt.flash, opt.uf2);
    this.path = opt.vbus;
    this.holds = 0;
    this.timer = null;
    this.input = [];
    this.boots = 0;
    this.cycles = 0;
    this.wallStart = Date.now();
    this.turnarounds = [];
    this.lastRequestEnd = null;
    this.invalidSio = 0;
    this.control = this.path ? new Control(this.path) : null;
    this.quietWarnings();
    this.boot(0, null);
  }

  log(line) {
    say(line);
  }

  quietWarnings() {
    // rp2040js prints "Read from invalid SIO address" at every soft reset (the SIO's
    // divider and interpolator registers it leaves out): counted, not printed.
    const warn = console.warn.bind(console);
    console.warn = (...a) => {
      if (String(a[0]).startsWith("Read from invalid SIO address")) this.invalidSio++;
      else warn(...a);
    };
  }

  // --- the chip ---------------------------------------------------------------------------

  boot(reason, scratch) {
    this.teardown();
    const rp2040 = new RP2040();
    this.rp2040 = rp2040;
    rp2040.logger = new ConsoleLogger(LogLevel.Error);
    rp2040.loadBootrom(new Uint32Array(this.bootrom.buffer, this.bootrom.byteOffset, 4096));
    rp2040.flash.set(this.flash.image); // loadBootrom reset the flash: the state goes back in
    // The ROM's reset path waits for the debugger's or the USB boot's vector here (the
    // emulator has neither); the chip's boot goes on at the flash's second stage (boot2),
    // which the ROM would have copied and entered: it runs from flash, with the ROM's
    // functions below it.
    rp2040.core.PC = FLASH_START;
    const wd = rp2040.peripherals[WATCHDOG];
    wd.reason = reason;
    if (scratch) wd.scratchData.set(scratch);
    wd.onWatchdogTrigger = () => this.reboot(wd.reason, wd.scratchData);
    this.hookFlash(rp2040);
    this.watchBreak(rp2040);
    this.joinUsb(rp2040);
    this.conns = [];
    this.bridges = [];
    this.joinBuses(rp2040);
    this.feedPins(rp2040);
    this.feedAdc(rp2040);
    this.boots++;
    this.wallStart = Date.now();
    this.base = 0;
    this.busyNanos = 0;
    if (this.boots > 1) say(`reboot ${this.boots - 1} (${reason === 1 ? "watchdog" : "reset"})`);
    this.schedule();
  }

  reboot(reason, scratch) {
    // from inside an instruction: the new chip starts once this one has stopped
    const saved = scratch ? Uint32Array.from(scratch) : null;
    this.stopped = true;
    setImmediate(() => this.boot(reason, saved));
  }

  teardown() {
    for (const c of this.conns || []) c.close();
    for (const b of this.bridges || []) b.close();
    if (this.timer) clearImmediate(this.timer);
    if (this.sleeping) clearTimeout(this.sleeping);
    this.timer = null;
    this.sleeping = null;
    this.holds = 0;
    this.controllerHolds = 0;
    this.stopped = false;
    this.targets = [];
  }

  // A BKPT with no debugger attached: pico-sdk's panic() and a failed hard_assert end in
  // one (the chip locks up in a HardFault there). Said once per boot, with the calls that
  // led to it (RP2EMU_DEBUG keeps the last 32 BL/BLX targets).
  watchBreak(rp2040) {
    const core = rp2040.core;
    let said = false;
    rp2040.onBreak = (code) => {
      if (said) return;
      said = true;
      const r = Array.from(core.registers.slice(0, 4), (v) => (v >>> 0).toString(16));
      say(`breakpoint ${code} at pc ${(core.PC >>> 0).toString(16)} lr ${(core.LR >>> 0).toString(16)} r0-r3 ${r.join(" ")}`);
      if (this.calls) say(`calls ${this.calls.map((c) => c.toString(16)).join(" ")}`);
      if (this.calls) {
        const sp = core.SP >>> 0;
        for (let i = 0; i < 24; i++) {
          const w = rp2040.readUint32(sp + 4 * i) >>> 0;
          let text = "";
          if ((w >= 0x10000000 && w < 0x10200000) || (w >= 0x20000000 && w < 0x20042000)) {
            for (let k = 0; k < 80; k++) {
              const c = rp2040.readUint8(w + k);
              if (!c) break;
              text += c >= 32 && c < 127 ? String.fromCharCode(c) : ".";
            }
          }
          say(`sp+${4 * i} ${w.toString(16)} ${JSON.stringify(text)}`);
        }
      }
    };
  }

  hookFlash(rp2040) {
    const erase = romFunction(rp2040, "R", "E");
    const program = romFunction(rp2040, "R", "P");
    const core = rp2040.core;
    this.calls = process.env.RP2EMU_DEBUG ? [] : null;
    core.blTaken = () => {
      const pc = core.PC;
      if (this.calls) {
        this.calls.push(pc, core.LR >>> 0);
        if (this.calls.length > 64) this.calls.splice(0, 2);
      }
      if (pc === erase) {
        this.flash.erase(core.registers[0], core.registers[1]);
      } else if (pc === program) {
        const [offset, src, n] = [core.registers[0], core.registers[1], core.registers[2]];
        const bytes = new Uint8Array(n);
        for (let i = 0; i < n; i++) bytes[i] = rp2040.readUint8(src + i);
        this.flash.program(offset, bytes);
        // the ROM's own program loop runs on; the emulated flash gets the bytes here
        for (let i = 0; i < n; i++) rp2040.flash[offset + i] = this.flash.image[offset + i];
      } else {
        return;
      }
      if (pc === erase) {
        const [o, c] = [core.registers[0], core.registers[1]];
        rp2040.flash.fill(0xff, o, o + c);
      }
    };
  }

  // --- running ----------------------------------------------------------------------------

  hold(controller = false) {
    this.holds++;
    if (controller) this.controllerHolds++;
  }

  release(controller = false) {
    this.holds--;
    if (controller) this.controllerHolds--;
    if (this.holds <= 0) {
      this.holds = 0;
      this.controllerHolds = 0;
    }
    if (!this.blocked()) this.schedule();
  }

  // The CPU stays still while the bus answers a question it asked, except that an I2C
  // target in the middle of another controller's transfer needs it (see
  // bridgeController): stretching SCL for its firmware, or clocking a byte, whose wire
  // time is the chip's clock. Held then, a controller waiting for the bus (the START of
  // a response while the host writes to the chip) and the host waiting for the chip's
  // byte held each other until the bus server gave the target up (2 s), and the chip's
  // target was off the bus for good.
  blocked() {
    if (!this.holds) return false;
    const targetWaits = this.targets.some((t) => t.waiter || t.clocking);
    return !(targetWaits && this.holds === this.controllerHolds);
  }

  schedule() {
    if (this.sleeping) {
      clearTimeout(this.sleeping);
      this.sleeping = null;
    }
    if (!this.timer && !this.stopped) this.timer = setImmediate(() => this.run());
  }

  // Emulated time never runs ahead of wall time: a chip waiting for an interrupt (WFI/WFE)
  // sleeps in real time, so idle firmware costs no host CPU and its timers keep wall pace.
  // Busy, it runs as fast as the emulator can (slower than the chip); that lag is not
  // made up later (at most LAG_NANOS of it).
  wallNanos() {
    const w = (Date.now() - this.wallStart) * 1e6 + this.base;
    const lag = w - this.rp2040.clock.nanos;
    if (lag > LAG_NANOS) {
      this.base -= lag - LAG_NANOS;
      return this.rp2040.clock.nanos + LAG_NANOS;
    }
    return w;
  }

  run() {
    this.timer = null;
    const { rp2040 } = this;
    const { core, clock } = rp2040;
    const until = Date.now() + 20;
    let idle = false;
    this.topUpInput();
    while (!this.blocked() && !this.stopped && !idle && Date.now() < until) {
      const wall = this.wallNanos();
      for (let i = 0; i < 20000 && !this.stopped && (!this.holds || !this.blocked()); i++) {
        if (core.waiting) {
          const next = clock.nanosToNextAlarm;
          const step = next > 0 ? next : CYCLE_NANOS;
          if (clock.nanos + step > wall) {
            if (wall > clock.nanos) clock.tick(wall - clock.nanos);
            idle = true;
            break;
          }
          clock.tick(step);
        } else {
          const cycles = core.executeInstruction();
          clock.tick(cycles * CYCLE_NANOS);
          this.cycles += cycles;
        }
      }
    }
    if (this.stopped || rp2040 !== this.rp2040 || this.blocked()) return;
    if (idle) {
      this.sleeping = setTimeout(() => {
        this.sleeping = null;
        this.schedule();
      }, 1);
    } else {
      this.schedule();
    }
  }

  get emulatedMicros() {
    return this.rp2040.clock.nanos / 1000;
  }

  // --- USB CDC ----------------------------------------------------------------------------

  // The host side of the USB link, where rp2040js leaves two gaps. Its CDC answers every
  // OUT transfer the device arms at once, with zero bytes when the host has none: the
  // firmware spins on empty packets. Here a transfer waits until the host has bytes (as a
  // host NAKs), and takes at most what the CDC FIFO holds (512 bytes; the rest waits
  // here, paced). And device-mode SOF frames are missing: MicroPython flushes its output
  // 16 frames after the host raises DTR (tud_sof_cb), so without them nothing printed
  // before the first input would come out. A frame every 1 ms emulated; reading SOF_RD
  // clears the interrupt, as on the chip.
  joinUsb(rp2040) {
    const usb = rp2040.usbCtrl;
    this.cdc = new USBCDC(usb);
    this.cdc.onSerialData = (buf) => process.stdout.write(Buffer.from(buf));
    this.pendingOut = null;
    // Only the CDC's bulk OUT endpoint carries the host's bytes, and only once armed:
    // completing any other endpoint the device arms (EP0 during enumeration, before the
    // CDC is configured) with serial bytes made TinyUSB panic ("Can't continue xfer on
    // inactive ep") when the host was already sending as the chip came out of a reset.
    const cdcRead = usb.onEndpointRead;
    usb.onEndpointRead = (endpoint, size) => {
      if (endpoint !== this.cdc.outEndpoint) return cdcRead(endpoint, size);
      this.pendingOut = [endpoint, size];
      this.topUpInput();
    };
    const read = usb.readUint32.bind(usb);
    usb.readUint32 = (offset) => {
      const v = read(offset);
      if (offset === USB_SOF_RD && usb.intRaw & USB_INTR_DEV_SOF) {
        usb.intRaw &= ~USB_INTR_DEV_SOF;
        usb.checkInterrupts();
      }
      return v;
    };
    const sof = rp2040.clock.createAlarm(() => {
      usb.sofFrameNumber = (usb.sofFrameNumber + 1) & 0x7ff;
      usb.intRaw |= USB_INTR_DEV_SOF;
      usb.checkInterrupts();
      sof.schedule(USB_FRAME_NANOS);
    });
    sof.schedule(USB_FRAME_NANOS);
  }

  topUpInput() {
    const fifo = this.cdc && this.cdc.txFIFO;
    if (!fifo) return;
    while (this.input.length && fifo.itemCount < CDC_FIFO) this.cdc.sendSerialByte(this.input.shift());
    if (this.pendingOut && fifo.itemCount) {
      const [endpoint, size] = this.pendingOut;
      this.pendingOut = null;
      const buffer = new Uint8Array(Math.min(size, fifo.itemCount));
      for (let i = 0; i < buffer.length; i++) buffer[i] = fifo.pull();
      this.rp2040.usbCtrl.endpointReadDone(endpoint, buffer);
      while (this.input.length && fifo.itemCount < CDC_FIFO) this.cdc.sendSerialByte(this.input.shift());
      this.schedule();
    }
  }

  fromHost(data) {
    for (const b of data) this.input.push(b);
    this.topUpInput();
  }

  // --- buses ------------------------------------------------------------------------------

  joinBuses(rp2040) {
    if (!this.path) return;
    const freqHz = config.freq || 100000;
    for (const pin of config.pullups || []) rp2040.gpio[pin].setInputValue(true);
    // I2C0 and I2C1: target mode for whichever the firmware makes a target
    rp2040.i2c.forEach((i2c, block) => {
      const target = new I2CTargetMode(i2c, rp2040, {
        freqHz,
        onEnable: (addr7) => this.attachTarget(rp2040, target, block, addr7),
        onDisable: () => this.detachTarget(target),
        onWait: () => this.schedule(),
      });
      this.targets.push(target);
      this.bridgeController(rp2040, i2c, block, freqHz);
    });
    for (const s of config.soft || []) {
      this.bridges.push(new SoftI2CBridge(this, this.path, s.bus, s.scl, s.sda));
    }
  }

  blockBus(rp2040, block) {
    // the bus of the block's pins: I2C0 on pin pairs 0/1, 4/5, ..., I2C1 on 2/3, 6/7, ...
    // (the firmware selects the pins' I2C function only after enabling the block)
    for (const [bus, pins] of Object.entries(config.hw || {})) {
      if (pins.some((pin) => ((pin >> 1) & 1) === block)) return bus;
    }
    return null;
  }

  attachTarget(rp2040, target, block, addr7) {
    const bus = this.blockBus(rp2040, block);
    if (!bus) return say(`I2C${block} target: its pins are on no bus`);
    const conn = new Connection(this.path, wire.ROLE_TARGET, bus);
    target.conn = conn;
    this.conns.push(conn);
    conn.ready
      .then(() => conn.request(wire.ATTACH, [addr7]))
      .then(([, p]) => {
        if (p[0] !== wire.ST_ACK) say(`I2C${block} target: address 0x${addr7.toString(16)} taken`);
      })
      .catch((e) => say(`I2C${block} target: ${e.message}`));
    conn.onClose = () => {
      target.abandon();
      // the bus server gave up on the target (it did not answer in the stretch timeout):
      // said, so that a board that stops answering says why
      if (target.conn === conn && this.rp2040 === rp2040 && !this.stopped) {
        say(`I2C${block} target: the virtual bus dropped it (no answer within its stretch timeout)`);
      }
    };
    let chain = Promise.resolve();
    conn.onMessage = (kind, p) => {
      chain = chain.then(() => this.serveTarget(target, conn, kind, p)).catch(() => {});
    };
  }

  detachTarget(target) {
    if (target.conn) target.conn.close();
    target.conn = null;
  }

  async serveTarget(target, conn, kind, p) {
    this.schedule();
    if (kind === wire.T_ADDR) {
      const ack = await target.addressedAs(!!p[1]);
      conn.reply(wire.T_ACK, [ack ? 1 : 0]);
    } else if (kind === wire.T_WRITE) {
      const n = await target.written(p);
      conn.reply(wire.T_WROTE, [n]);
    } else if (kind === wire.T_READ) {
      conn.reply(wire.T_DATA, await target.read(p[0], !!p[1]));
    } else if (kind === wire.T_END) {
      const wasWrite = target.addressed && !target.reading;
      await target.ended();
      if (wasWrite) this.lastRequestEnd = this.rp2040.clock.nanos;
      conn.reply(wire.T_DONE, []);
    }
  }

  // I2C1 (or I2C0) as a controller: every START, byte and STOP goes to the bus, and
  // completes after its wire time in emulated time (or later, when the bus answers later).
  bridgeController(rp2040, i2c, block, freqHz) {
    const bit = 1e9 / freqHz;
    const targetOf = () => this.targets[block] && this.targets[block].targetMode;
    let conn = null;
    const ensure = () => {
      if (!conn || conn.closed) {
        const bus = this.blockBus(rp2040, block);
        conn = new Connection(this.path, wire.ROLE_CONTROLLER, bus || "");
        this.conns.push(conn);
      }
      return conn;
    };
    const after = (since, bits, fn) => {
      const due = since + bits * bit - rp2040.clock.nanos;
      if (due <= 0) fn();
      else rp2040.clock.createAlarm(fn).schedule(due);
      this.schedule();
    };
    // The CPU is held while the bus answers: the host's latency must not pass as emulated
    // time (pico-sdk's per-transfer timeout would expire on a loaded machine, where the
    // chip's wire would not). A START may wait for the bus while another controller talks
    // to this chip's I2C target, whose FIFOs need the CPU: while the target stretches SCL
    // for it, a controller's hold gives way (hold(true) / release(true), blocked()).
    const ask = (kind, payload, bits, then) => {
      const since = rp2040.clock.nanos;
      const c = ensure();
      this.hold(true);
      const done = (reply) => {
        this.release(true);
        if (rp2040 === this.rp2040) after(since, bits, () => then(reply));
      };
      c.request(kind, payload).then(
        ([, reply]) => done(reply),
        () => done(Buffer.from([wire.ST_NO_BUS]))
      );
    };
    const lost = (st) => st === wire.ST_ARB_LOST || st === wire.ST_TIMEOUT || st === wire.ST_NO_BUS;
    // rp2040js's arbitrationLost() leaves out what the chip does next: the winner's STOP
    // sets STOP_DET (IC_CON.STOP_DET_IF_MASTER_ACTIVE is 0), which pico-sdk waits for after
    // an abort; without it every lost arbitration became a timeout (ETIMEDOUT, and a
    // second retry) instead of the port's EIO.
    // The bus is given back (a STOP, as the unix port's XFER_W ends a failed transfer):
    // the block no longer takes part in the transaction.
    const arbitrationLost = (st) => {
      ensure().request(wire.STOP, []).catch(() => {});
      i2c.arbitrationLost();
      if (st === wire.ST_ARB_LOST) i2c.setInterrupts(I2C_R_STOP_DET);
    };
    // Disabling the block mid-transfer (pico-sdk does before every transfer, to set TAR;
    // after a timeout that is mid-transfer) ends it with a STOP, as on the chip;
    // rp2040js only empties the FIFOs, and the next bytes went out in the old transaction.
    // An abort (address or data NACK, lost arbitration) flushes the TX FIFO; on the chip
    // TX_EMPTY is a level (FIFO at or below IC_TX_TL), so it is set then, and pico-sdk,
    // waiting for it, reads the abort source: EIO. rp2040js sets it only when it takes a
    // command, so every NACK became a timeout (ETIMEDOUT after 50 ms, and the stale abort
    // source failed the next transfer).
    const abort = i2c.abort.bind(i2c);
    i2c.abort = (reason) => {
      abort(reason);
      i2c.setInterrupts(I2C_R_TX_EMPTY);
    };
    const write = i2c.writeUint32.bind(i2c);
    i2c.writeUint32 = (offset, value) => {
      if (offset === I2C_IC_ENABLE && !(value & 1) && i2c.state !== I2C_IDLE && !targetOf(i2c)) {
        ensure().request(wire.STOP, []).catch(() => {});
        i2c.state = I2C_IDLE;
        i2c.busy = false;
        i2c.pendingRestart = false;
        i2c.stop = false;
      }
      write(offset, value);
    };
    i2c.onStart = () => after(rp2040.clock.nanos, wire.BIT_START, () => i2c.completeStart());
    i2c.onConnect = (address, mode) => {
      if (this.lastRequestEnd !== null && mode === 0) {
        this.turnarounds.push(rp2040.clock.nanos - this.lastRequestEnd);
        if (this.turnarounds.length > 64) this.turnarounds.shift();
        this.lastRequestEnd = null;
      }
      ask(wire.START, [address & 0x7f, mode ? 1 : 0], wire.BITS_PER_BYTE, (p) => {
        if (lost(p[0])) arbitrationLost(p[0]);
        else i2c.completeConnect(p[0] === wire.ST_ACK);
      });
    };
    i2c.onWriteByte = (value) =>
      ask(wire.WRITE, [value], wire.BITS_PER_BYTE, (p) => {
        if (lost(p[0])) arbitrationLost(p[0]);
        else i2c.completeWrite(p[0] === wire.ST_ACK && p[1] === 1);
      });
    i2c.onReadByte = (ack) =>
      ask(wire.READ, [1, ack ? 0 : 1], wire.BITS_PER_BYTE, (p) => {
        if (lost(p[0])) arbitrationLost(p[0]);
        else i2c.completeRead(p.length > 1 ? p[1] : 0xff);
      });
    i2c.onStop = () =>
      ask(wire.STOP, [], wire.BIT_STOP, () => i2c.completeStop());
  }

  // --- pins and ADC -----------------------------------------------------------------------

  ask(op, args, then) {
    if (!this.control) return;
    const chip = this.rp2040;
    this.hold();
    this.control.call(op, args).then(
      (r) => {
        if (chip === this.rp2040) then(r);
        this.release();
      },
      () => this.release()
    );
  }

  feedPins(rp2040) {
    const pins = config.pins || [];
    const fed = new Map(); // pin -> {level, hz}
    const wired = new Set([...(config.pullups || [])]);
    for (const s of config.soft || []) wired.add(s.scl).add(s.sda);
    // a pin nothing drives reads its pad's pull (undriven and unpulled: low)
    const settle = (pin) => {
      const g = rp2040.gpio[pin];
      const f = fed.get(pin);
      if (f && f.level !== null && f.level !== undefined && !f.hz) g.setInputValue(!!f.level);
      else if (!f || !f.hz) g.setInputValue(g.pullupEnabled);
    };
    for (let pin = 0; pin < 30; pin++) {
      if (wired.has(pin)) continue;
      rp2040.gpio[pin].addListener(() => settle(pin));
      settle(pin);
    }
    const edges = new Map(); // pin -> alarm
    const poll = () => {
      if (rp2040 !== this.rp2040) return;
      for (const pin of pins) {
        this.ask("pin", { pin }, (r) => {
          fed.set(pin, r);
          settle(pin);
          const hz = r.hz || 0;
          if (hz > 0 && !edges.has(pin)) {
            let level = true;
            const a = rp2040.clock.createAlarm(() => {
              const f = fed.get(pin);
              if (!f || !f.hz) {
                edges.delete(pin);
                return settle(pin);
              }
              level = !level;
              rp2040.gpio[pin].setInputValue(level);
              a.schedule(5e8 / f.hz); // two level changes per period: one falling edge
            });
            edges.set(pin, a);
            a.schedule(5e8 / hz);
          }
        });
      }
      rp2040.clock.createAlarm(poll).schedule(PIN_POLL_NANOS);
    };
    if (pins.length && this.control) poll();
  }

  feedAdc(rp2040) {
    const adc = rp2040.adc;
    const held = new Map(); // channel -> [nanos, value]
    adc.onADCRead = (channel) => {
      const done = (u16) =>
        rp2040.clock
          .createAlarm(() => adc.completeADCRead(u16 >> 4, false))
          .schedule(adc.sampleTime * 1000);
      const h = held.get(channel);
      if (h && rp2040.clock.nanos - h[0] < ADC_HOLD_NANOS) return done(h[1]);
      if (!this.control) return done(0);
      // the channel, as the unix port's machine.ADC asks (the models: pin 26 is channel 0)
      this.ask("adc", { channel }, (r) => {
        held.set(channel, [rp2040.clock.nanos, r.u16 || 0]);
        done(r.u16 || 0);
      });
    };
  }

  // --- statistics -------------------------------------------------------------------------

  stats() {
    const wall = (Date.now() - this.wallStart) / 1000;
    return {
      boots: this.boots,
      emulated_s: this.rp2040.clock.nanos / 1e9,
      cycles_per_s: Math.round(this.cycles / Math.max(wall, 1e-3)),
      turnaround_us: this.turnarounds.map((n) => Math.round(n / 100) / 10),
      stop_irq_us: this.targets.map((t) => (t.stopLatency === null ? null : t.stopLatency / 1000)),
      flash_erases: this.flash.erases,
      flash_programs: this.flash.programs,
      invalid_sio_reads: this.invalidSio,
    };
  }
}

const runner = new Runner();
process.stdin.on("data", (d) => runner.fromHost(d));
process.stdin.on("end", () => {});
process.on("SIGUSR1", () => runner.reboot(0, null));
process.on("SIGUSR2", () => say(`stats ${JSON.stringify(runner.stats())}`));
process.on("SIGTERM", () => {
  say(`stats ${JSON.stringify(runner.stats())}`);
  process.exit(0);
});
say("started");
if (process.env.RP2EMU_DEBUG) setInterval(() => say(`pc ${runner.rp2040.core.PC.toString(16)} waiting ${runner.rp2040.core.waiting} cycles ${runner.cycles} holds ${runner.holds}`), 1000);

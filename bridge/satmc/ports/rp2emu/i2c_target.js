// Target (slave) mode of the RP2040's DW_apb_i2c block, added to rp2040js's RPI2C.
//
// rp2040js 1.4.1 emulates the block as a controller only; MicroPython's machine.I2CTarget
// (ports/rp2/machine_i2c_target.c through pico-sdk's i2c_slave) programs target mode. This
// module adds it on top of one RPI2C instance without changing the package: while IC_CON
// selects target mode (MASTER_MODE 0, IC_SLAVE_DISABLE 0) the registers below are answered
// here; controller mode stays the package's.
//
//   IC_CON, IC_SAR, IC_RX_TL, IC_TX_TL, IC_INTR_MASK, IC_ENABLE     written by the firmware
//   IC_INTR_STAT, IC_RAW_INTR_STAT, IC_STATUS (RFNE, TFNF, TFE, RFF, SLV_ACTIVITY),
//   IC_RXFLR, IC_TXFLR, IC_ENABLE_STATUS, IC_TX_ABRT_SOURCE                 read
//   IC_CLR_INTR, IC_CLR_TX_ABRT, IC_CLR_START_DET, IC_CLR_STOP_DET, IC_CLR_RX_DONE,
//   IC_CLR_RD_REQ, IC_CLR_RX_OVER, IC_CLR_RX_UNDER, IC_CLR_TX_OVER, IC_CLR_RESTART_DET  read to clear
//   IC_DATA_CMD       read: the next received byte (bit 11 FIRST_DATA_BYTE); write: a byte to send
//
// Interrupts: START_DET (and RESTART_DET) at an address match, STOP_DET at STOP (only when
// addressed, STOP_DET_IFADDRESSED), RX_FULL while more than IC_RX_TL bytes wait (a level),
// RD_REQ when the controller reads and the TX FIFO is empty, RX_DONE when the controller
// NACKs the last byte it reads, TX_ABRT (ABRT_SLVFLUSH_TXFIFO) when bytes the controller
// never read are flushed at the end of a read. The block holds SCL low (the bus side waits)
// while the RX FIFO is full (RX_FIFO_FULL_HLD_CTRL) and while a read waits for its byte.
//
// The bus side drives it through addressed(), written(), read(), ended() (each resolves
// when the bytes are through, in emulated time: every byte takes its 9 bit times at the
// bus frequency, so the firmware's IRQ latency meets the wire as on the chip).
"use strict";

const IC_CON = 0x00;
const IC_SAR = 0x08;
const IC_DATA_CMD = 0x10;
const IC_INTR_STAT = 0x2c;
const IC_INTR_MASK = 0x30;
const IC_RAW_INTR_STAT = 0x34;
const IC_RX_TL = 0x38;
const IC_TX_TL = 0x3c;
const IC_CLR_INTR = 0x40;
const IC_CLR_RX_UNDER = 0x44;
const IC_CLR_RX_OVER = 0x48;
const IC_CLR_TX_OVER = 0x4c;
const IC_CLR_RD_REQ = 0x50;
const IC_CLR_TX_ABRT = 0x54;
const IC_CLR_RX_DONE = 0x58;
const IC_CLR_ACTIVITY = 0x5c;
const IC_CLR_STOP_DET = 0x60;
const IC_CLR_START_DET = 0x64;
const IC_CLR_GEN_CALL = 0x68;
const IC_ENABLE = 0x6c;
const IC_STATUS = 0x70;
const IC_TXFLR = 0x74;
const IC_RXFLR = 0x78;
const IC_TX_ABRT_SOURCE = 0x80;
const IC_ENABLE_STATUS = 0x9c;
const IC_CLR_RESTART_DET = 0xa8;

const MASTER_MODE = 1 << 0;
const IC_SLAVE_DISABLE = 1 << 6;
const STOP_DET_IFADDRESSED = 1 << 7;
const RX_FIFO_FULL_HLD_CTRL = 1 << 9;

const R_RX_UNDER = 1 << 0;
const R_RX_OVER = 1 << 1;
const R_RX_FULL = 1 << 2;
const R_TX_OVER = 1 << 3;
const R_TX_EMPTY = 1 << 4;
const R_RD_REQ = 1 << 5;
const R_TX_ABRT = 1 << 6;
const R_RX_DONE = 1 << 7;
const R_ACTIVITY = 1 << 8;
const R_STOP_DET = 1 << 9;
const R_START_DET = 1 << 10;
const R_GEN_CALL = 1 << 11;
const R_RESTART_DET = 1 << 12;
const LATCHED_ALL =
  R_RX_UNDER | R_RX_OVER | R_TX_OVER | R_RD_REQ | R_TX_ABRT | R_RX_DONE | R_ACTIVITY |
  R_STOP_DET | R_START_DET | R_GEN_CALL | R_RESTART_DET;

const ST_TFNF = 1 << 1;
const ST_TFE = 1 << 2;
const ST_RFNE = 1 << 3;
const ST_RFF = 1 << 4;
const ST_SLV_ACTIVITY = 1 << 6;
const ST_ACTIVITY = 1 << 0;

const ABRT_SLVFLUSH_TXFIFO = 1 << 13;
const FIRST_DATA_BYTE = 1 << 11;
const FIFO_DEPTH = 16;
const BITS_PER_BYTE = 9; // 8 data bits and the ACK (satmc.vbus.wire.BITS_PER_BYTE)

class I2CTargetMode {
  constructor(i2c, rp2040, opts) {
    this.i2c = i2c;
    this.rp2040 = rp2040;
    this.freqHz = opts.freqHz || 100000;
    this.bitsPerByte = opts.bitsPerByte || BITS_PER_BYTE;
    this.onEnable = opts.onEnable || (() => {}); // (addr7) when target mode is enabled
    this.onDisable = opts.onDisable || (() => {});
    this.onWait = opts.onWait || (() => {}); // SCL is being held for the firmware
    this.rx = [];
    this.tx = [];
    this.raw = 0; // latched interrupt bits
    this.mask = 0;
    this.rxTL = 0;
    this.txTL = 0;
    this.abortSource = 0;
    this.enabled = false;
    this.addressed = false;
    this.reading = false;
    this.firstByte = false;
    this.waiter = null; // the bus side waiting for FIFO space or a byte to send
    this.clocking = 0; // wire-time alarms the bus side waits for
    this.stretchedNanos = 0;
    this.served = 0;
    this.stopAt = null;
    this.stopLatency = null; // emulated ns from a STOP to the firmware clearing STOP_DET
    const baseRead = i2c.readUint32.bind(i2c);
    const baseWrite = i2c.writeUint32.bind(i2c);
    const baseCheck = i2c.checkInterrupts.bind(i2c);
    i2c.readUint32 = (offset) => (this.targetMode ? this.readReg(offset) : baseRead(offset));
    i2c.writeUint32 = (offset, value) => {
      if (offset === IC_CON) {
        baseWrite(offset, value);
        return;
      }
      if (this.targetMode) this.writeReg(offset, value);
      else baseWrite(offset, value);
    };
    i2c.checkInterrupts = () => (this.targetMode ? this.update() : baseCheck());
  }

  get targetMode() {
    const con = this.i2c.control;
    return !(con & MASTER_MODE) && !(con & IC_SLAVE_DISABLE);
  }

  get byteNanos() {
    return (this.bitsPerByte * 1e9) / this.freqHz;
  }

  get rawStatus() {
    let r = this.raw;
    if (this.rx.length > this.rxTL) r |= R_RX_FULL;
    if (this.tx.length <= this.txTL) r |= R_TX_EMPTY;
    return r;
  }

  update() {
    this.rp2040.setInterrupt(this.i2c.irq, !!(this.rawStatus & this.mask));
  }

  set(bits) {
    this.raw |= bits;
    this.update();
  }

  clear(bits) {
    const had = this.raw & bits ? 1 : 0;
    this.raw &= ~bits;
    this.update();
    return had;
  }

  readReg(offset) {
    switch (offset) {
      case IC_CON:
        return this.i2c.control;
      case IC_SAR:
        return this.i2c.slaveAddress;
      case IC_DATA_CMD: {
        if (!this.rx.length) {
          this.set(R_RX_UNDER);
          return 0;
        }
        const v = this.rx.shift();
        this.update();
        this.wake();
        return v;
      }
      case IC_INTR_STAT:
        return this.rawStatus & this.mask;
      case IC_INTR_MASK:
        return this.mask;
      case IC_RAW_INTR_STAT:
        return this.rawStatus;
      case IC_RX_TL:
        return this.rxTL;
      case IC_TX_TL:
        return this.txTL;
      case IC_CLR_INTR:
        this.abortSource = 0;
        return this.clear(LATCHED_ALL);
      case IC_CLR_RX_UNDER:
        return this.clear(R_RX_UNDER);
      case IC_CLR_RX_OVER:
        return this.clear(R_RX_OVER);
      case IC_CLR_TX_OVER:
        return this.clear(R_TX_OVER);
      case IC_CLR_RD_REQ:
        return this.clear(R_RD_REQ);
      case IC_CLR_TX_ABRT:
        this.abortSource = 0;
        return this.clear(R_TX_ABRT);
      case IC_CLR_RX_DONE:
        return this.clear(R_RX_DONE);
      case IC_CLR_ACTIVITY:
        return this.clear(R_ACTIVITY);
      case IC_CLR_STOP_DET:
        if (this.raw & R_STOP_DET && this.stopAt !== null) {
          this.stopLatency = this.rp2040.clock.nanos - this.stopAt;
          this.stopAt = null;
        }
        return this.clear(R_STOP_DET);
      case IC_CLR_START_DET:
        return this.clear(R_START_DET);
      case IC_CLR_GEN_CALL:
        return this.clear(R_GEN_CALL);
      case IC_CLR_RESTART_DET:
        return this.clear(R_RESTART_DET);
      case IC_ENABLE:
        return this.enabled ? 1 : 0;
      case IC_ENABLE_STATUS:
        return this.enabled ? 1 : 0;
      case IC_STATUS:
        return (
          (this.addressed ? ST_SLV_ACTIVITY | ST_ACTIVITY : 0) |
          (this.rx.length >= FIFO_DEPTH ? ST_RFF : 0) |
          (this.rx.length ? ST_RFNE : 0) |
          (this.tx.length ? 0 : ST_TFE) |
          (this.tx.length < FIFO_DEPTH ? ST_TFNF : 0)
        );
      case IC_TXFLR:
        return this.tx.length;
      case IC_RXFLR:
        return this.rx.length;
      case IC_TX_ABRT_SOURCE:
        return this.abortSource;
    }
    return this.i2c.constructor.prototype.readUint32.call(this.i2c, offset);
  }

  writeReg(offset, value) {
    switch (offset) {
      case IC_SAR:
        this.i2c.slaveAddress = value & 0x3ff;
        return;
      case IC_DATA_CMD:
        if (this.tx.length >= FIFO_DEPTH) {
          this.set(R_TX_OVER);
          return;
        }
        this.tx.push(value & 0xff);
        this.update();
        this.wake();
        return;
      case IC_INTR_MASK:
        this.mask = value & 0x1fff;
        this.update();
        return;
      case IC_RX_TL:
        this.rxTL = Math.min(value & 0xff, FIFO_DEPTH - 1);
        this.update();
        return;
      case IC_TX_TL:
        this.txTL = Math.min(value & 0xff, FIFO_DEPTH - 1);
        this.update();
        return;
      case IC_ENABLE: {
        const on = !!(value & 1);
        if (on && !this.enabled) {
          this.enabled = true;
          this.onEnable(this.i2c.slaveAddress & 0x7f);
        } else if (!on && this.enabled) {
          this.enabled = false;
          this.rx = [];
          this.tx = [];
          this.update();
          this.onDisable();
        }
        return;
      }
    }
    this.i2c.constructor.prototype.writeUint32.call(this.i2c, offset, value);
  }

  // --- the bus side ---------------------------------------------------------------------

  wake() {
    const w = this.waiter;
    if (w && w.ready()) {
      this.waiter = null;
      this.stretchedNanos += this.rp2040.clock.nanos - w.since;
      w.go();
    }
  }

  // Resolves when cond() holds (checked now and whenever the firmware touches the FIFOs):
  // meanwhile SCL is held low.
  until(cond) {
    return new Promise((resolve) => {
      if (cond()) return resolve();
      this.waiter = { ready: cond, go: resolve, since: this.rp2040.clock.nanos };
      this.onWait(); // the firmware must run now, even while its CPU waits on a bus
    });
  }

  // Resolves after `nanos` of emulated time: a byte's or a STOP's wire time. Meanwhile
  // the bus side waits on the chip's clock (`clocking`), so the CPU must run even while
  // its own controller waits for this bus (see the runner's blocked()).
  after(nanos) {
    return new Promise((resolve) => {
      this.clocking++;
      const alarm = this.rp2040.clock.createAlarm(() => {
        this.clocking--;
        resolve();
      });
      alarm.schedule(nanos);
      this.onWait();
    });
  }

  // The controller addressed us; true to ACK (a disabled block NACKs).
  async addressedAs(read) {
    if (!this.enabled) return false;
    await this.after(this.byteNanos);
    this.set(this.addressed ? R_START_DET | R_RESTART_DET : R_START_DET);
    this.addressed = true;
    this.reading = read;
    this.firstByte = true;
    if (read) {
      this.flush();
      this.set(R_RD_REQ);
    }
    return true;
  }

  // Bytes the controller writes; resolves with how many were taken.
  async written(data) {
    let n = 0;
    for (const b of data) {
      await this.after(this.byteNanos);
      if (!this.enabled) break;
      if (this.rx.length >= FIFO_DEPTH) {
        if (!(this.i2c.control & RX_FIFO_FULL_HLD_CTRL)) {
          this.set(R_RX_OVER);
          n++;
          continue;
        }
        await this.until(() => this.rx.length < FIFO_DEPTH || !this.enabled);
        if (!this.enabled) break;
      }
      this.rx.push(b | (this.firstByte ? FIRST_DATA_BYTE : 0));
      this.firstByte = false;
      this.update();
      n++;
    }
    this.served += n;
    return n;
  }

  // n bytes the controller reads (the last NACKed if lastNack).
  async read(n, lastNack) {
    const out = [];
    for (let i = 0; i < n; i++) {
      await this.until(() => this.tx.length > 0 || !this.enabled);
      if (!this.enabled) {
        out.push(0xff);
        continue;
      }
      out.push(this.tx.shift());
      await this.after(this.byteNanos);
      const last = lastNack && i === n - 1;
      if (last) this.set(R_RX_DONE);
      else if (!this.tx.length) this.set(R_RD_REQ); // the next byte, before it is clocked
      this.update();
    }
    this.served += out.length;
    return out;
  }

  flush() {
    if (this.tx.length) {
      this.abortSource = ABRT_SLVFLUSH_TXFIFO;
      this.tx = [];
      this.set(R_TX_ABRT);
    }
  }

  // STOP or repeated START: a STOP comes one bit time after the last byte.
  async ended() {
    await this.after(this.byteNanos / this.bitsPerByte);
    if (this.reading) this.flush();
    if (this.addressed || !(this.i2c.control & STOP_DET_IFADDRESSED)) {
      this.stopAt = this.rp2040.clock.nanos;
      this.set(R_STOP_DET);
    }
    this.addressed = false;
    this.reading = false;
  }

  // The bus connection is gone: nobody stretches any more.
  abandon() {
    const w = this.waiter;
    this.waiter = null;
    if (w) w.go();
  }
}

module.exports = { I2CTargetMode, FIFO_DEPTH };

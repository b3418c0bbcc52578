// The kernel's zeromq patch (jupyter/kernels/prefopt/kernel-patches.js): tslab never awaits send(), and a
// second send on a socket while one is in flight fails with EBUSY, which killed the kernel during a
// notebook with live progress displays. The patch must really replace the (non-writable) send.
import { test } from "node:test";
import assert from "node:assert/strict";

const { serialiseZmqSends } = require("../jupyter/kernels/prefopt/kernel-patches.js") as {
  serialiseZmqSends: (zmq: { Socket: { prototype: object } }) => void;
};

test("zeromq's send is non-writable, and serialiseZmqSends replaces it on the real module", () => {
  const zmq = require("zeromq");
  const before = zmq.Socket.prototype.send;
  assert.equal(Object.getOwnPropertyDescriptor(zmq.Socket.prototype, "send")?.writable, false);
  serialiseZmqSends(zmq);
  assert.notEqual(zmq.Socket.prototype.send, before);
  const p = new zmq.Publisher();
  assert.equal(p.send, zmq.Socket.prototype.send, "sockets call the wrapper");
  p.close();
});

test("a free socket sends at once (progress streams during a synchronous cell); EBUSY queues in order", async () => {
  const events: string[] = [];
  let writing: Promise<void> | null = null;
  class FakeSocket {
    closed = false;
    // Like zeromq: a send goes out at once unless an earlier one still waits, which throws EBUSY at once.
    send(m: string): Promise<void> {
      if (writing) throw Object.assign(new Error("Socket is busy writing"), { code: "EBUSY" });
      events.push(`sent ${m}`);
      if (m.startsWith("slow")) {
        writing = new Promise((r) => setTimeout(r, 5)).then(() => {
          writing = null;
          events.push(`written ${m}`);
        });
        return writing;
      }
      if (m === "bad") return Promise.reject(new Error("boom"));
      return Promise.resolve();
    }
  }
  Object.defineProperty(FakeSocket.prototype, "send", { writable: false });
  serialiseZmqSends({ Socket: FakeSocket });
  const s = new FakeSocket() as unknown as { send(m: string): Promise<void> };
  const errors: string[] = [];
  const fs = require("fs") as { writeSync: (fd: number, text: string) => number };
  const orig = fs.writeSync;
  fs.writeSync = (fd: number, text: string) => (fd === 2 ? errors.push(text.trimEnd()) : orig(fd, text));
  try {
    const all = [s.send("a"), s.send("b")];
    assert.deepEqual(events, ["sent a", "sent b"], "free sends go out synchronously");
    all.push(s.send("slow1"), s.send("c"), s.send("d"), s.send("bad"));
    assert.deepEqual(events, ["sent a", "sent b", "sent slow1"], "sends while one is writing wait");
    await Promise.all(all);
  } finally {
    fs.writeSync = orig;
  }
  assert.deepEqual(events, ["sent a", "sent b", "sent slow1", "written slow1", "sent c", "sent d", "sent bad"]);
  assert.deepEqual(errors, ["kernel: a message could not be sent: boom"]);
});

test("a queued send that meets EBUSY again is retried on a timer, in order; a failure is reported to the kernel's stderr, not over the socket", async () => {
  const events: string[] = [];
  let busyUntilTick = false;
  let writing: Promise<void> | null = null;
  class LaggingSocket {
    closed = false;
    // Like zeromq under load: the previous send's promise settles a turn before the socket takes another.
    send(m: string): Promise<void> {
      if (writing || busyUntilTick) throw Object.assign(new Error("Socket is busy writing"), { code: "EBUSY" });
      events.push(`sent ${m}`);
      if (m === "bad") return Promise.reject(new Error("boom"));
      writing = new Promise<void>((r) => setTimeout(r, 2)).then(() => {
        writing = null;
        busyUntilTick = true;
        setTimeout(() => (busyUntilTick = false), 3);
      });
      return writing;
    }
  }
  Object.defineProperty(LaggingSocket.prototype, "send", { writable: false });
  serialiseZmqSends({ Socket: LaggingSocket });
  const s = new LaggingSocket() as unknown as { send(m: string): Promise<void> };
  const fs = require("fs") as { writeSync: (fd: number, text: string) => number };
  const writeSync = fs.writeSync;
  const consoleError = console.error;
  const written: string[] = [];
  const consoleErrors: string[] = [];
  fs.writeSync = (fd: number, text: string) => (fd === 2 ? written.push(text) : writeSync(fd, text));
  console.error = (m: string) => consoleErrors.push(m);
  try {
    await Promise.all([s.send("a"), s.send("b"), s.send("c"), s.send("bad"), s.send("d")]);
    const late = s.send("e"); // made while nothing is queued any more
    await late;
  } finally {
    fs.writeSync = writeSync;
    console.error = consoleError;
  }
  assert.deepEqual(events, ["sent a", "sent b", "sent c", "sent bad", "sent d", "sent e"], "nothing dropped, in order");
  assert.deepEqual(written, ["kernel: a message could not be sent: boom\n"]);
  assert.deepEqual(consoleErrors, [], "a send failure never goes back through the notebook's streams");
});

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

test("sends on one socket run one after another; a failed send is reported, not thrown", async () => {
  const events: string[] = [];
  let busy = false;
  class FakeSocket {
    closed = false;
    async send(m: string) {
      if (busy) throw new Error("Socket is busy writing");
      busy = true;
      events.push(`start ${m}`);
      await new Promise((r) => setTimeout(r, 5));
      events.push(`end ${m}`);
      busy = false;
      if (m === "bad") throw new Error("boom");
    }
  }
  Object.defineProperty(FakeSocket.prototype, "send", { writable: false });
  const fake = { Socket: FakeSocket };
  serialiseZmqSends(fake);
  const s = new FakeSocket() as unknown as { send(m: string): Promise<void> };
  const errors: string[] = [];
  const orig = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    await Promise.all([s.send("a"), s.send("bad"), s.send("c")]);
  } finally {
    console.error = orig;
  }
  assert.deepEqual(events, ["start a", "end a", "start bad", "end bad", "start c", "end c"]);
  assert.deepEqual(errors, ["kernel: a message could not be sent: boom"]);
});

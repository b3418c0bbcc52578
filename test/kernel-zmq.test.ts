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
  const orig = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    const all = [s.send("a"), s.send("b")];
    assert.deepEqual(events, ["sent a", "sent b"], "free sends go out synchronously");
    all.push(s.send("slow1"), s.send("c"), s.send("d"), s.send("bad"));
    assert.deepEqual(events, ["sent a", "sent b", "sent slow1"], "sends while one is writing wait");
    await Promise.all(all);
  } finally {
    console.error = orig;
  }
  assert.deepEqual(events, ["sent a", "sent b", "sent slow1", "written slow1", "sent c", "sent d", "sent bad"]);
  assert.deepEqual(errors, ["kernel: a message could not be sent: boom"]);
});

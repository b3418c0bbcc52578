// Messaging-spec 5.3 conformance on top of tslab 1.0.22 (installed by kernel-patches.js):
//   - kernel_info_reply, comm_info_reply and shutdown_reply carry `status` (tslab omits it, and sends
//     comm_info's reply as a "complete_reply"); language_info names the TypeScript version tslab compiles with;
//   - history_request is answered (tail, range, search) from a per-project history file (history.js);
//   - comm_open with target "prefopt.plotly" is answered with plotly.js's source (a page that lacks
//     window.Plotly asks for it: src/display.ts), any other target is closed at once as the spec asks;
//   - an execute_reply that tslab marks "abort" says "aborted" (the spelling kernels send).
// The execute_result itself is sent by kernel-patches.js (handleExecute), with richBundle from src/richOutput.ts.
const crypto = require("crypto");

const DELIM = Buffer.from("<IDS|MSG>");

/** identities, header, parent, content of a raw shell message (signature checked by tslab's own parse). */
function parseRaw(args, key) {
  const at = args.findIndex((b) => Buffer.isBuffer(b) && b.equals(DELIM));
  if (at < 0) throw new Error("message missing delimiter");
  const parts = args.slice(at + 2, at + 6);
  const hmac = crypto.createHmac("sha256", key);
  for (const p of args.slice(at + 2)) hmac.update(p);
  if (hmac.digest("hex") !== args[at + 1].toString()) throw new Error("invalid message signature");
  const [header, parent, metadata, content] = parts.map((b) => JSON.parse(b.toString()));
  return { identities: args.slice(0, at), header, parent, metadata, content };
}

/** Sends one signed message (spec "The Wire Protocol") in reply to `request` on `sock`. */
function sendMessage(sock, key, request, msgType, content, identities = request.identities) {
  const header = {
    msg_id: crypto.randomBytes(16).toString("hex"),
    session: request.header.session,
    username: request.header.username ?? "kernel",
    date: new Date().toISOString(),
    msg_type: msgType,
    version: "5.3",
  };
  const bodies = [header, request.header, {}, content].map((x) => JSON.stringify(x));
  const hmac = crypto.createHmac("sha256", key);
  for (const b of bodies) hmac.update(b);
  sock.send([...identities, DELIM, hmac.digest("hex"), ...bodies]);
}

function installProtocol({ jupyter, ts, history, plotlySource }) {
  const Handler = jupyter.JupyterHandlerImpl.prototype;
  const Server = jupyter.ZmqServer.prototype;

  const handleKernel = Handler.handleKernel;
  Handler.handleKernel = function () {
    const reply = handleKernel.call(this);
    reply.status = "ok";
    reply.language_info.version = ts.version;
    reply.implementation_version = require("tslab/package.json").version;
    reply.help_links = [];
    return reply;
  };

  Handler.handleShutdown = function (req) {
    return { status: "ok", restart: Boolean(req && req.restart) };
  };

  Server.handleCommInfoRequest = function (sock, msg) {
    const reply = msg.createReply();
    reply.header.msg_type = "comm_info_reply";
    reply.content = { status: "ok", comms: {} };
    reply.signAndSend(this.connInfo.key, sock);
  };

  // Message types tslab does not know: answered here, with the busy/idle status around them as for the rest.
  const handleShellMessage = Server.handleShellMessage;
  Server.handleShellMessage = async function (sock, ...args) {
    let request;
    try {
      request = parseRaw(args, this.connInfo.key);
    } catch {
      return handleShellMessage.call(this, sock, ...args); // tslab reports it
    }
    const own = OWN_MESSAGES[request.header.msg_type];
    if (!own) return handleShellMessage.call(this, sock, ...args);
    const key = this.connInfo.key;
    const iopubOf = (type, content) => sendMessage(this.iopub, key, request, type, content, []);
    iopubOf("status", { execution_state: "busy" });
    try {
      own({ request, reply: (type, content) => sendMessage(sock, key, request, type, content), iopub: iopubOf });
    } catch (e) {
      console.error(`kernel: ${request.header.msg_type} failed: ${e && e.message}`);
    } finally {
      iopubOf("status", { execution_state: "idle" });
    }
  };

  const OWN_MESSAGES = {
    history_request({ request, reply }) {
      try {
        reply("history_reply", { status: "ok", history: history.query(request.content) });
      } catch (e) {
        reply("history_reply", { status: "error", ename: "HistoryError", evalue: e.message, traceback: [e.message] });
      }
    },
    comm_open({ request, iopub }) {
      const { comm_id, target_name } = request.content;
      if (target_name === "prefopt.plotly") {
        let data;
        try {
          data = { source: plotlySource() };
        } catch (e) {
          data = { error: `plotly.js could not be read: ${e.message}` };
        }
        iopub("comm_msg", { comm_id, data });
      }
      // One request, one answer: the comm is closed either way (an unknown target must be closed, spec "Opening a Comm").
      iopub("comm_close", { comm_id, data: {} });
    },
    comm_msg() {},
    comm_close() {},
  };
}

module.exports = { installProtocol, parseRaw };

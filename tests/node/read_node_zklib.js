// Reads users and attendance from a ZK terminal with node-zklib and prints one JSON line.
// Usage: node read_node_zklib.js <port> [timeout_ms]; NODE_PATH points at the installed modules.
'use strict';
const ZKLib = require('node-zklib');

async function main() {
  const port = Number(process.argv[2]);
  const timeout = Number(process.argv[3] || 5000);
  // The last argument is the local UDP port: 0 lets the system pick one.
  const zk = new ZKLib('127.0.0.1', port, timeout, 0);
  const out = { client: 'node-zklib' };
  try {
    await zk.createSocket();
    out.transport = zk.connectionType;
    const info = await zk.getInfo();
    out.info = info;
    const users = await zk.getUsers();
    out.users = users.data.map((u) => ({ uid: u.uid, userId: String(u.userId), name: u.name }));
    out.users_err = users.err ? describe(users.err) : null;
    const logs = await zk.getAttendances();
    out.records = logs.data.map((r) => ({
      userId: String(r.deviceUserId),
      // Local wall-clock fields: the client builds a local Date from the device's time.
      time: localStamp(r.recordTime),
    }));
    out.records_err = logs.err ? describe(logs.err) : null;
  } catch (err) {
    out.error = describe(err);
  } finally {
    try { await zk.disconnect(); } catch (e) { /* the socket may already be gone */ }
  }
  // Exit only once stdout is flushed: a pipe is written asynchronously.
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}

function describe(err) {
  // Both clients wrap errors (sometimes twice) in their own class with the cause in `err`.
  let cause = err;
  while (cause && cause.err) cause = cause.err;
  return String((cause && (cause.message || cause.code)) || cause);
}

function localStamp(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

main();

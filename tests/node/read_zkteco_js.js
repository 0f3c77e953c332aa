// Reads users, attendance and identity from a ZK terminal with zkteco-js; prints one JSON line.
// Usage: node read_zkteco_js.js <port> [timeout_ms]; NODE_PATH points at the installed modules.
'use strict';
const Zkteco = require('zkteco-js');

async function main() {
  const port = Number(process.argv[2]);
  const timeout = Number(process.argv[3] || 5000);
  const zk = new Zkteco('127.0.0.1', port, timeout, 0);
  const out = { client: 'zkteco-js' };
  try {
    await zk.createSocket();
    out.transport = zk.connectionType;
    out.info = await zk.getInfo();
    const users = await zk.getUsers();
    out.users = users.data.map((u) => ({ uid: u.uid, userId: String(u.userId), name: u.name }));
    out.users_err = users.err ? describe(users.err) : null;
    const logs = await zk.getAttendances();
    out.records = logs.data.map((r) => ({
      userId: String(r.user_id),
      time: localStamp(new Date(r.record_time)),
    }));
    out.records_err = logs.err ? describe(logs.err) : null;
    if (out.transport === 'tcp') {
      out.time = localStamp(await zk.getTime());
      // Options (CMD_OPTIONS_RRQ) and CMD_GET_VERSION; the firmware string keeps its NUL.
      out.identity = {
        serial: await zk.getSerialNumber(),
        deviceName: await zk.getDeviceName(),
        platform: await zk.getPlatform(),
        mac: await zk.getMacAddress(),
        firmware: (await zk.getFirmware()).replace(/\u0000+$/, ''),
      };
    }
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

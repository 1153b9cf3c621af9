// Follows one build's log through the CloudDeck logs hub with the real SignalR client (@microsoft/signalr),
// the way the dashboard will, and writes what it received as JSON for the C# test (or benchmark) to check.
//
//   node follow-build.mjs <baseUrl> <accessToken> <buildId> [--from N] [--transport websockets|sse|longpolling]
//                         [--out file.json] [--latency] [--timeout seconds]
//
// Output (snake_case, as the API's own JSON): { lines: [n…], entries: [{line, stream, text}…] (not with --latency),
//           completed: {status} | null, lines_after_completed, joined: JoinBuild's answer ({build_id, status, from_line,
//           last_line}), error, ended: {message} | null, latencies_ms (with --latency) }.
// Exit code: 0 when `completed` arrived, 1 when joining or the connection failed, 2 on timeout, 3 when the server ended
// the follow with an `error` message (access to the log ended, say).
import { writeFileSync } from "node:fs";
import * as signalR from "@microsoft/signalr";

const [baseUrl, accessToken, buildId, ...rest] = process.argv.slice(2);
if (!baseUrl || !accessToken || !buildId) {
  console.error("usage: node follow-build.mjs <baseUrl> <accessToken> <buildId> [--from N] [--transport t] [--out file] [--latency] [--timeout s]");
  process.exit(64);
}

const option = (name, fallback) => {
  const i = rest.indexOf(name);
  return i >= 0 && i + 1 < rest.length ? rest[i + 1] : fallback;
};
const fromLine = Number(option("--from", "1"));
const transportName = option("--transport", "websockets");
const outFile = option("--out", null);
const timeoutSeconds = Number(option("--timeout", "300"));
const measureLatency = rest.includes("--latency");

const transports = {
  websockets: signalR.HttpTransportType.WebSockets,
  sse: signalR.HttpTransportType.ServerSentEvents,
  longpolling: signalR.HttpTransportType.LongPolling,
};
if (!(transportName in transports)) {
  console.error(`unknown transport '${transportName}': use ${Object.keys(transports).join(", ")}`);
  process.exit(64);
}

// Wall-clock milliseconds with sub-millisecond precision, comparable with the server's timestamps on this machine.
const nowMs = () => performance.timeOrigin + performance.now();

// "2026-11-01T10:00:00.1234567+00:00" → milliseconds, keeping the digits Date.parse drops.
const parseTimeMs = (iso) => {
  const match = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$/.exec(iso);
  if (!match) return Date.parse(iso);
  const fraction = match[2] ? Number(match[2]) : 0;
  return Date.parse(match[1] + match[3]) + fraction * 1000;
};

const result = {
  build_id: buildId,
  transport: transportName,
  from_line: fromLine,
  joined: null,
  lines: [],
  entries: measureLatency ? undefined : [],
  latencies_ms: measureLatency ? [] : undefined,
  completed: null,
  lines_after_completed: 0,
  error: null,
  ended: null,
};

const connection = new signalR.HubConnectionBuilder()
  .withUrl(new URL("hubs/logs", baseUrl).toString(), {
    accessTokenFactory: () => accessToken,
    transport: transports[transportName],
    skipNegotiation: false,
  })
  .configureLogging(signalR.LogLevel.Warning)
  .build();
// The server sends nothing between lines of a quiet build; keep the default keep-alive exchange but be patient.
connection.serverTimeoutInMilliseconds = 60_000;

let finish;
const finished = new Promise((resolve) => (finish = resolve));

connection.on("line", (message) => {
  const receivedAt = measureLatency ? nowMs() : 0;
  if (result.completed) result.lines_after_completed++;
  result.lines.push(message.line);
  if (measureLatency) result.latencies_ms.push(receivedAt - parseTimeMs(message.time));
  else result.entries.push({ line: message.line, stream: message.stream, text: message.text });
});

connection.on("completed", (message) => {
  result.completed = { status: message.status };
  finish(0);
});

// The server stopped following this build (no more lines will come) and says why.
connection.on("error", (message) => {
  result.ended = { message: message.message };
  finish(3);
});

connection.onclose((error) => {
  if (!result.completed && !result.ended) {
    result.error ??= `connection closed before 'completed'${error ? `: ${error.message}` : ""}`;
    finish(1);
  }
});

const timer = setTimeout(() => {
  result.error ??= `no 'completed' within ${timeoutSeconds} s (received ${result.lines.length} lines)`;
  finish(2);
}, timeoutSeconds * 1000);

try {
  await connection.start();
  result.joined = await connection.invoke("JoinBuild", buildId, fromLine);
} catch (error) {
  result.error = error?.message ?? String(error);
  finish(1);
}

const code = await finished;
clearTimeout(timer);
await connection.stop().catch(() => {});

const json = JSON.stringify(result);
if (outFile) writeFileSync(outFile, json);
else process.stdout.write(json + "\n");
console.log(
  `follow-build: ${result.lines.length} lines, completed=${result.completed?.status ?? "no"}, error=${result.error ?? "none"}`,
);
process.exit(code);

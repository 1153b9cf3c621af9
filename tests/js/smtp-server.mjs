// A real SMTP server (nodemailer's smtp-server) for the email tests and benchmark.
// Usage: node smtp-server.mjs --port N [--reject TEXT] [--user NAME --password SECRET]
// Prints "listening PORT" once it accepts connections, then one JSON line per received message:
// {"event":"message","from":…,"to":[…],"raw":"<base64 of the message>"} (with --quiet true: {"event":"count","received":N}). RCPT TO addresses containing
// --reject get a permanent 550. With --user, clients must authenticate (AUTH PLAIN/LOGIN) as that user.
import { SMTPServer } from "smtp-server";

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ""), process.argv[i + 1]);
const port = Number(args.get("port") ?? 0);
const reject = args.get("reject");
const user = args.get("user");
const password = args.get("password");
const quiet = args.get("quiet") === "true";
let received = 0;

const server = new SMTPServer({
  secure: false,
  disabledCommands: user ? ["STARTTLS"] : ["STARTTLS", "AUTH"],
  allowInsecureAuth: true,
  authOptional: !user,
  logger: false,
  size: 10 * 1024 * 1024,
  onAuth(auth, session, callback) {
    if (auth.username === user && auth.password === password) return callback(null, { user: auth.username });
    return callback(new Error("535 5.7.8 Authentication credentials invalid"));
  },
  onRcptTo(address, session, callback) {
    if (reject && address.address.includes(reject)) {
      const error = new Error(`Mailbox ${address.address} does not exist here`);
      error.responseCode = 550;
      return callback(error);
    }
    return callback();
  },
  onData(stream, session, callback) {
    const chunks = [];
    stream.on("data", (chunk) => chunks.push(chunk));
    stream.on("end", () => {
      received++;
      if (quiet) {
        console.log(JSON.stringify({ event: "count", received }));
      } else {
        console.log(JSON.stringify({
          event: "message",
          from: session.envelope.mailFrom && session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("base64"),
        }));
      }
      callback(null, "Queued");
    });
  },
});

server.on("error", (error) => {
  console.error(`smtp-server error: ${error.message}`);
  process.exit(1);
});
server.listen(port, "127.0.0.1", () => console.log(`listening ${server.server.address().port}`));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));

// The walkthrough's app: an Express server on port 3000 that says hello and
// shows where it runs. Inside a container the hostname is the container's
// short ID, and the Node version is the base image's.
const express = require("express");
const os = require("node:os");

const app = express();
const port = Number(process.env.PORT || 3000);
const started = new Date();

app.get("/", (req, res) => {
  res.type("text/plain").send(
    [
      "Hello from berth!",
      `hostname: ${os.hostname()}`,
      `node: ${process.version}`,
      `express: ${require("express/package.json").version}`,
      `up since: ${started.toISOString()}`,
      "",
    ].join("\n"),
  );
});

app.get("/healthz", (req, res) => res.json({ ok: true }));

const server = app.listen(port, "0.0.0.0", () => {
  console.log(`my-app listening on port ${port}`);
});

// `berth stop` sends SIGTERM: close the listener and exit promptly
// (PID 1 in a container gets no default signal handlers).
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}

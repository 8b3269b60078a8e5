// The websocket to the server: JSON messages in and out, reconnecting with backoff.
// The session token from hello is kept in sessionStorage, so a reload or a dropped
// connection takes the same session back (/ws?resume=<token>, see protocol.py).

const TOKEN_KEY = "descent.session";
// Close codes after which reconnecting on our own would not help: origin refused (1008),
// closed for idleness (4000). The page offers a manual reconnect instead.
const FINAL = new Set([1008, 4000]);

const storage = {
  get() { try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; } },
  set(token) { try { sessionStorage.setItem(TOKEN_KEY, token); } catch { /* storage off: no resume */ } },
  clear() { try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* nothing stored */ } },
};

export class Connection {
  constructor(onMessage, onState) {
    this.onMessage = onMessage;
    this.onState = onState;
    this.delay = 500;
    this.open();
  }

  open() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const token = storage.get();
    const query = token ? `?resume=${encodeURIComponent(token)}` : "";
    this.ws = new WebSocket(`${proto}://${location.host}/ws${query}`);
    this.ws.onopen = () => { this.delay = 500; this.onState("open"); };
    this.ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.type === "hello") storage.set(msg.token);
      this.onMessage(msg);
    };
    this.ws.onclose = (e) => {
      if (FINAL.has(e.code)) {
        if (e.code === 4000) storage.clear(); // the server has let the session go
        this.onState("stopped", e.reason);
        return;
      }
      this.onState("closed");
      setTimeout(() => this.open(), this.delay);
      this.delay = Math.min(this.delay * 2, 8000);
    };
  }

  // After a final close: start again (a fresh session unless the token is still good).
  reopen() {
    if (this.ws.readyState === WebSocket.CLOSED) this.open();
  }

  send(message) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }
}

// Each lab's last setup in this tab: switching to another lab and back brings a lab back as
// it was (dataset, network, drawn points, racers ...), not at its defaults. Kept in the tab's
// sessionStorage, so a reload keeps them too.

const KEY = "descent.setups";

function load() {
  try { return JSON.parse(sessionStorage.getItem(KEY)) ?? {}; } catch { return {}; }
}

const setups = load();

// The server's config of a lab (each config message): that lab's setup now.
export function remember(config) {
  setups[config.lab] = config;
  try { sessionStorage.setItem(KEY, JSON.stringify(setups)); } catch { /* storage off: kept in this page only */ }
}

// The patch that brings `lab` back: its remembered setup, else its defaults.
export const setupOf = (lab) => setups[lab] ?? { lab };

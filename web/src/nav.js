// Navigation helpers shared by the views: go to a hash, run clean-ups when a view is left, announce.
const leaving = [];

export function onLeave(callback) {
  leaving.push(callback);
}

export function leave() {
  for (const callback of leaving.splice(0)) callback();
}

export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  setTimeout(() => (region.textContent = text), 50);
}

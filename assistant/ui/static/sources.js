const pick = (ev) => {
  const el = ev.target.closest('.citation-link, .source-card, .passage-card');
  if (!el) return null;
  let turn = el.dataset.turn, n = el.dataset.n, hit = el.dataset.hit;
  if (turn === undefined && el.getAttribute('href')) {
    const m = /#cite-(\d+)-(\d+)/.exec(el.getAttribute('href'));
    if (m) { turn = m[1]; n = m[2]; }
  }
  if (turn === undefined) return null;
  return {el, turn: Number(turn), n: n === undefined ? -1 : Number(n),
          hit: hit === undefined ? -1 : Number(hit)};
};
const send = (ev) => {
  const got = pick(ev);
  if (!got) return;
  ev.preventDefault();
  document.querySelectorAll('.source-card.active, .passage-card.active')
    .forEach((c) => c.classList.remove('active'));
  if (got.el.classList.contains('source-card') || got.el.classList.contains('passage-card')) {
    got.el.classList.add('active');
  }
  trigger('click', {turn: got.turn, n: got.n, hit: got.hit});
};
const onKey = (ev) => { if (ev.key === 'Enter' || ev.key === ' ') send(ev); };
if (window.__assistantCite) {
  document.removeEventListener('click', window.__assistantCite.click, true);
  document.removeEventListener('keydown', window.__assistantCite.key, true);
}
window.__assistantCite = {click: send, key: onKey};
document.addEventListener('click', send, true);
document.addEventListener('keydown', onKey, true);

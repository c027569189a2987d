const open = (ev) => {
  const row = ev.target.closest('.timeline-event');
  if (!row) return;
  if (ev.type === 'keydown' && ev.key !== 'Enter' && ev.key !== ' ') return;
  ev.preventDefault();
  element.querySelectorAll('.timeline-event.active').forEach((r) => r.classList.remove('active'));
  row.classList.add('active');
  trigger('click', {article: row.dataset.article, start: Number(row.dataset.start),
                    end: Number(row.dataset.end)});
};
element.addEventListener('click', open);
element.addEventListener('keydown', open);

element.addEventListener('click', (ev) => {
  const rm = ev.target.closest('.remove-article');
  if (rm) {
    ev.preventDefault();
    if (rm.classList.contains('armed')) {
      rm.textContent = 'Removing…';
      trigger('click', {remove: rm.dataset.id});
    } else {
      rm.classList.add('armed');
      rm.textContent = 'Click again to remove';
      setTimeout(() => { rm.classList.remove('armed'); rm.textContent = 'Remove'; }, 4000);
    }
    return;
  }
  const open = ev.target.closest('.open-article');
  if (open) { ev.preventDefault(); trigger('click', {open: open.dataset.id}); }
});

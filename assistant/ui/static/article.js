const reveal = () => {
  const m = element.querySelector('mark');
  if (m) m.scrollIntoView({block: 'center', inline: 'nearest'});
};
watch('value', () => setTimeout(reveal, 30));

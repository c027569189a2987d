(md) => {
  if (md && navigator.clipboard) { navigator.clipboard.writeText(md).catch(() => {}); }
  return md;
}

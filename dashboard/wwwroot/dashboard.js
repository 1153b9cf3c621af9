// Follows a live log's tail unless the reader scrolled up: a log view near its bottom stays at the bottom as lines
// arrive; scrolled up, it stays where the reader is. No inline script (the Content-Security-Policy allows none).
(() => {
  const slack = 48;
  const atBottom = (view) => view.scrollHeight - view.scrollTop - view.clientHeight < slack;
  document.addEventListener("scroll", (event) => {
    const view = event.target;
    if (view instanceof HTMLElement && view.classList.contains("log-view")) view.dataset.follow = atBottom(view) ? "true" : "false";
  }, true);
  const follow = () => {
    for (const view of document.querySelectorAll(".log-view")) {
      if (view.dataset.follow !== "false") view.scrollTop = view.scrollHeight;
    }
  };
  new MutationObserver(follow).observe(document.documentElement, { childList: true, subtree: true });
})();

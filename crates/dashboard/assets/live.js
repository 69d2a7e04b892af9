// Keeps a page's live regions current. A region (an element with an id) names the event types
// it shows with `data-live="session. payment."` (prefixes), or a period with `data-tick="5"`
// (seconds); when one of its events arrives on /dashboard/live, or its period passes, the page
// is fetched again and the region's content replaced by the new one. A region holding the
// element being typed in waits for the next change.
(() => {
  "use strict";
  const regions = () => Array.from(document.querySelectorAll("[id][data-live], [id][data-tick]"));
  if (regions().length === 0) return;

  let wanted = new Set();
  let timer = null;
  const refresh = async () => {
    timer = null;
    const ids = Array.from(wanted);
    wanted = new Set();
    let response;
    try {
      response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
    } catch {
      return;
    }
    if (!response.ok || response.redirected) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const id of ids) {
      const here = document.getElementById(id);
      const there = fresh.getElementById(id);
      const typing = here && here.contains(document.activeElement) && document.activeElement.matches("input, select, textarea");
      if (here && there && !typing && here.innerHTML !== there.innerHTML) here.innerHTML = there.innerHTML;
    }
  };
  const schedule = (elements) => {
    elements.forEach((element) => wanted.add(element.id));
    if (wanted.size > 0 && timer === null) timer = setTimeout(refresh, 150);
  };

  if (window.EventSource) {
    const events = new EventSource("/dashboard/live");
    events.addEventListener("change", (message) => {
      const types = JSON.parse(message.data);
      schedule(regions().filter((region) => (region.dataset.live || "").split(" ").some((p) => p && types.some((t) => t.startsWith(p)))));
    });
  }
  for (const region of regions().filter((r) => r.dataset.tick)) {
    setInterval(() => schedule([region]), Number(region.dataset.tick) * 1000);
  }
})();

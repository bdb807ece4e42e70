/* The search page: Pagefind's default UI, where JavaScript runs and the edition is served over HTTP.
   Without it the page keeps its message and the link to the contents. */
(function () {
  "use strict";
  var target = document.getElementById("search");
  var fallback = document.getElementById("search-fallback");
  if (!target || !fallback) {
    return;
  }
  if (window.location.protocol === "file:") {
    fallback.querySelector(".search-message").textContent = target.getAttribute("data-file-message");
    return;
  }
  if (typeof window.PagefindUI !== "function") {
    return;
  }
  var ui = new window.PagefindUI({
    element: "#search",
    showSubResults: true,
    showImages: false,
    baseUrl: new URL(".", window.location.href).pathname
  });
  fallback.hidden = true;
  // Pagefind's box is named only by its placeholder: name it by the page's visible heading too.
  var input = target.querySelector("input");
  var heading = document.querySelector("h1[id]");
  if (input && heading) {
    input.setAttribute("aria-labelledby", heading.id);
  }
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) {
    ui.triggerSearch(query);
  }
})();

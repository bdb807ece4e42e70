/* Links to a page of the print edition: pages.html#page-23 goes straight on to where page 23 begins,
   and so does index.html#page-23 (through pages.html). Without JavaScript, pages.html shows the list
   with that page's link at the top, and the index its contents. */
(function () {
  "use strict";
  var id = decodeURIComponent(window.location.hash.slice(1));
  if (!/^page-/.test(id)) {
    return;
  }
  var item = document.getElementById(id);
  var link = item ? item.querySelector("a[href]") : null;
  var list = document.querySelector("a[data-page-list]");
  if (link) {
    window.location.replace(link.href);
  } else if (!item && list) {
    window.location.replace(list.href.split("#")[0] + "#" + encodeURIComponent(id));
  }
})();

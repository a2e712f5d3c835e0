// Live size and sample of the segment being edited, refreshed as staff type.
(function () {
  "use strict";

  function collectRules(form) {
    const rows = {};
    for (const field of form.elements) {
      const match = /^rules-(\d+)-(kind|value|number|negate|DELETE)$/.exec(field.name);
      if (!match) continue;
      const row = (rows[match[1]] = rows[match[1]] || {});
      const key = match[2] === "DELETE" ? "delete" : match[2];
      row[key] = field.type === "checkbox" ? field.checked : field.value;
    }
    return Object.values(rows);
  }

  function render(box, data) {
    if (data.error) {
      box.textContent = data.error;
      return;
    }
    box.textContent = "";
    const size = document.createElement("p");
    size.innerHTML = "<strong></strong> users match.";
    size.firstChild.textContent = data.size.toLocaleString();
    box.appendChild(size);
    const list = document.createElement("ul");
    for (const member of data.sample) {
      const item = document.createElement("li");
      item.textContent = member.username + (member.email ? " <" + member.email + ">" : "");
      list.appendChild(item);
    }
    box.appendChild(list);
  }

  function refresh(form, box) {
    const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    const match = form.querySelector("[name=match]");
    fetch(box.dataset.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ match: match ? match.value : "all", rules: collectRules(form) }),
      credentials: "same-origin",
    })
      .then((response) => response.json())
      .then((data) => render(box, data))
      .catch((error) => { box.textContent = "Preview failed: " + error; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const box = document.getElementById("segment-preview");
    const form = document.getElementById("segment_form");
    if (!box || !form) return;
    let timer = null;
    const schedule = () => {
      clearTimeout(timer);
      timer = setTimeout(() => refresh(form, box), 400);
    };
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    refresh(form, box);
  });
})();

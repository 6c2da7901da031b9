// Clip index: sort, filter and page through window.HMW_CLIPS (rows written by hmworld report).
// Plain DOM code, no framework; rows are drawn one page at a time so 10,000 clips stay fast.
(function () {
  "use strict";
  const rows = window.HMW_CLIPS || [];
  const PAGE = 100;
  const cols = [
    { key: "thumb", label: "" },
    { key: "id", label: "clip" },
    { key: "split", label: "split" },
    { key: "scene", label: "scene" },
    { key: "subjects", label: "subjects" },
    { key: "trajectory", label: "camera trajectory" },
    { key: "n", label: "subjects (n)", num: true },
    { key: "pairs", label: "exit–entry pairs", num: true },
    { key: "passed", label: "passed" },
  ];
  const state = { sort: "id", dir: 1, page: 0 };
  const $ = (id) => document.getElementById(id);

  function fillSelect(sel, values) {
    for (const v of values) {
      const o = document.createElement("option");
      o.value = v; o.textContent = v; sel.appendChild(o);
    }
  }
  const uniq = (key) => Array.from(new Set(rows.map((r) => r[key]))).sort();
  fillSelect($("f-scene"), uniq("scene"));
  fillSelect($("f-trajectory"), uniq("trajectory"));
  fillSelect($("f-split"), uniq("split"));

  function filtered() {
    const scene = $("f-scene").value, traj = $("f-trajectory").value, split = $("f-split").value;
    const passed = $("f-passed").value, minPairs = Number($("f-pairs").value || 0);
    const text = $("f-text").value.trim().toLowerCase();
    return rows.filter((r) =>
      (!scene || r.scene === scene) && (!traj || r.trajectory === traj) && (!split || r.split === split) &&
      (!passed || String(r.passed) === passed) && r.pairs >= minPairs &&
      (!text || r.id.toLowerCase().includes(text) || r.subjects.join(" ").toLowerCase().includes(text)));
  }

  function sorted(list) {
    const k = state.sort, d = state.dir;
    return list.slice().sort((a, b) => {
      const x = Array.isArray(a[k]) ? a[k].join(",") : a[k], y = Array.isArray(b[k]) ? b[k].join(",") : b[k];
      return (x < y ? -1 : x > y ? 1 : 0) * d || (a.id < b.id ? -1 : 1);
    });
  }

  function cell(tr, content, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    if (content instanceof Node) td.appendChild(content); else td.textContent = content;
    tr.appendChild(td);
  }

  function draw() {
    const list = sorted(filtered());
    const pages = Math.max(1, Math.ceil(list.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const body = $("clip-rows");
    body.textContent = "";
    for (const r of list.slice(state.page * PAGE, (state.page + 1) * PAGE)) {
      const tr = document.createElement("tr");
      tr.dataset.id = r.id;
      if (r.page) {
        const a = document.createElement("a"); a.href = r.page;
        const img = document.createElement("img");
        img.className = "thumb"; img.loading = "lazy"; img.src = r.thumb; img.alt = "first frame of " + r.id;
        a.appendChild(img); cell(tr, a);
        const b = document.createElement("a"); b.href = r.page; b.textContent = r.id; cell(tr, b);
      } else { cell(tr, ""); cell(tr, r.id); }
      cell(tr, r.split); cell(tr, r.scene); cell(tr, r.subjects.join(", ")); cell(tr, r.trajectory);
      cell(tr, String(r.n), "num"); cell(tr, String(r.pairs), "num");
      cell(tr, r.passed ? "yes" : "no", r.passed ? "pass" : "fail");
      body.appendChild(tr);
    }
    $("count").textContent = list.length + " of " + rows.length + " clips";
    $("page").textContent = "page " + (state.page + 1) + " of " + pages;
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
    for (const th of document.querySelectorAll("#clip-head th")) {
      th.setAttribute("aria-sort", th.dataset.key === state.sort ? (state.dir > 0 ? "ascending" : "descending") : "none");
    }
  }

  const head = $("clip-head");
  for (const c of cols) {
    const th = document.createElement("th");
    th.textContent = c.label; th.dataset.key = c.key;
    if (c.key !== "thumb") {
      th.addEventListener("click", () => {
        state.dir = state.sort === c.key ? -state.dir : 1; state.sort = c.key; state.page = 0; draw();
      });
    }
    head.appendChild(th);
  }
  for (const id of ["f-scene", "f-trajectory", "f-split", "f-passed", "f-pairs", "f-text"]) {
    $(id).addEventListener("input", () => { state.page = 0; draw(); });
  }
  $("prev").addEventListener("click", () => { state.page -= 1; draw(); });
  $("next").addEventListener("click", () => { state.page += 1; draw(); });
  draw();
})();

// The world map: countries shaded by their number of projects, each a link to its page.
// Data comes from a JSON island (#map-data: ISO numeric code -> {iso2, name, count});
// boundaries from the vendored world-atlas TopoJSON. Without JavaScript the page still lists
// the same figures.
(function () {
  "use strict";
  const svg = document.getElementById("world-map");
  const island = document.getElementById("map-data");
  if (!svg || !island || !window.d3 || !window.topojson) return;
  const counts = JSON.parse(island.textContent);
  const highlight = svg.dataset.highlight || "";
  const point = svg.dataset.point ? svg.dataset.point.split(",").map(Number) : null;
  const width = 960;
  const height = 500;
  const largest = Math.max(1, ...Object.values(counts).map((c) => c.count));
  const shade = d3.scaleSequential([0, largest], d3.interpolateRgb("#f3d9c9", "#7f1d1d"));

  fetch(svg.dataset.atlas)
    .then((response) => response.json())
    .then((world) => {
      const features = topojson.feature(world, world.objects.countries).features;
      const projection = d3.geoNaturalEarth1().fitSize([width, height], { type: "Sphere" });
      const path = d3.geoPath(projection);
      const map = d3.select(svg);
      map.append("path").attr("class", "sphere").attr("d", path({ type: "Sphere" }));
      map
        .append("g")
        .selectAll("path")
        .data(features)
        .join("path")
        .attr("class", "country")
        .attr("d", path)
        .attr("data-iso2", (f) => (counts[f.id] ? counts[f.id].iso2 : ""))
        .attr("data-count", (f) => (counts[f.id] ? counts[f.id].count : 0))
        .attr("fill", (f) => {
          const entry = counts[f.id];
          if (highlight) return entry && entry.iso2 === highlight ? "#9b1c1c" : "#e7e3dc";
          return entry && entry.count > 0 ? shade(entry.count) : "#e7e3dc";
        })
        .each(function (f) {
          const entry = counts[f.id];
          const name = entry ? entry.name : (f.properties && f.properties.name) || "";
          const label = entry && !highlight
            ? `${name}: ${entry.count} project${entry.count === 1 ? "" : "s"}`
            : name;
          d3.select(this).append("title").text(label);
          if (entry && entry.iso2) {
            const href = `/countries/${entry.iso2.toLowerCase()}/`;
            d3.select(this)
              .attr("tabindex", 0)
              .attr("role", "link")
              .attr("aria-label", label)
              .on("click", () => { window.location.href = href; })
              .on("keydown", (event) => {
                if (event.key === "Enter") window.location.href = href;
              });
          }
        });
      if (point) {
        const [x, y] = projection([point[1], point[0]]);
        map.append("circle").attr("class", "point").attr("cx", x).attr("cy", y).attr("r", 6);
      }
    });
})();

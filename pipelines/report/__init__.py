"""The automation report: one self-contained HTML page from ``indicator_values``.

* :mod:`.catalog` — each indicator's title, CSET Table 1 row and definition;
* :mod:`.data` — periods (quarter, month, ISO week) and reading the table;
* :mod:`.stored` — what the warehouse holds for a period: coverage, events, the release's k and ε;
* :mod:`.charts` — inline SVG charts (matplotlib);
* :mod:`.summary` — the plain-words "what moved most";
* :mod:`.html` — the page (also served live by :mod:`autoscope.pipelines.dashboard`);
* :mod:`.build` — open the warehouse (for every reader), make sure the period is stored, write the file.
"""

"""The automation report: one self-contained HTML page from ``indicator_values``.

* :mod:`.catalog` — the words around each indicator's numbers: definitions, units, concern direction
  (the indicators themselves, titles and CSET Table 1 rows: :mod:`autoscope.pipelines.indicators.registry`);
* :mod:`.data` — periods (quarter, month, ISO week) and reading the table;
* :mod:`.stored` — what the warehouse holds for a period: coverage, events, the release's k and ε;
* :mod:`.charts` — inline SVG charts (matplotlib);
* :mod:`.summary` — the plain-words "what moved most";
* :mod:`.html` — the page (also served live by :mod:`autoscope.pipelines.dashboard`);
* :mod:`.build` — open the warehouse (for every reader), read the stored period, write the file (it never
  computes: :mod:`autoscope.pipelines.compute_first` runs before it when the command must compute);
* :mod:`.commands` — the handlers of ``report``, ``dashboard``, ``export``, ``audit``, ``key release-…``.
"""

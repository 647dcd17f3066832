"""The report's and the corpus page's view models, one module for each thing viewed: `tokens` (shaded pieces, top
lists), `columns`, `difference`, `additivity` and `method_block` (one method in a sample), `sample`, `summary`, and
the report page (`report.build_view`); `corpus` for the corpus page. Number formats live in `rendering.numbers`."""

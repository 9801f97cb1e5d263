"""Integrations with data-processing frameworks, imported only on use (their dependencies are extras).

* :mod:`inference_exp.integrations.ray` — batch inference over large image sets with Ray Data
  (``pip install 'inference-exp[ray]'``); the ``inference-exp batch`` command is built on it.
* :mod:`inference_exp.integrations.rows` — the flat, serialisable prediction rows those jobs write (one row
  per image, the same columns for every model).
* :mod:`inference_exp.integrations.coco_rle` — COCO run-length encoding of masks, used by the rows.
"""

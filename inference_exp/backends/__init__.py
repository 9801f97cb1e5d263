"""Runners: one class per runtime that turns an NCHW tensor into the network's raw outputs.

A runner knows nothing about what the outputs mean; model families decode them. Every runner exposes the
same small surface (:class:`~inference_exp.backends.base.Runner`), so a family is written once for all backends.
"""

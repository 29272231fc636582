"""Phrase encoders: all-MiniLM-L6-v2 on torch or as int8 ONNX, USE multilingual v3, multilingual
e5-small, and joins of them; :func:`open_encoder` opens the one a setting names."""

from sepadan.features.encoders.choice import DEFAULT_ENCODER, ENCODERS, open_encoder, parse_encoder

__all__ = ["DEFAULT_ENCODER", "ENCODERS", "open_encoder", "parse_encoder"]

"""Avro schemas of the pipeline's topics and the codec both sides share."""

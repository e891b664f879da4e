"""Evaluation of trained models: quality, keyword adherence, diversity and novelty of the ideas.

`designgan evaluate` runs `evaluate.evaluate_model`; the domain classifier whose features
every distance uses lives in `classifier`.
"""

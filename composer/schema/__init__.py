"""composer.schema"""

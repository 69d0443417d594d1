"""composer.planner"""

"""kefu.nlp — language understanding for customer messages.

No web or database imports: everything here is usable, testable and benchmarkable on its own.
"""

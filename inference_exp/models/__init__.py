"""Model families, their common base classes and the (architecture, task, backend) registry."""

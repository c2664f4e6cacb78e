"""kefu (客服) — open-source, self-hostable AI customer-service platform."""

__version__ = "0.1.0"

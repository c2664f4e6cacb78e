"""The email channel (docs/channels/email.md): mail in by IMAP polling (imap.py, a periodic job) and by the
built-in SMTP receiver (smtp_receiver.py, `KEFU_SMTP_LISTEN`), mail out by SMTP (adapter.send); parsing,
sanitising and quote trimming in mime.py, our Message-IDs and threading in threads.py."""

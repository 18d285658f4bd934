"""Cross-cutting pieces every area uses: database, keys, security headers, mail, errors."""

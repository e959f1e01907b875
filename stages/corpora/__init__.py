"""One module per corpus: parse its layout into utterance-table rows."""

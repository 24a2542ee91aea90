//! Go text/template subset with Docker's functions, tables and units, for berth's --format.

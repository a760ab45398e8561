"""`maildoctor auth` and `maildoctor send-test`: an account, tried the ways mail clients do."""

module gmpos/bench/net/peer

go 1.19

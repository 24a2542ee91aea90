//! Prints berth's nftables scripts for one sample network and port (for `nft -c -f -`).
fn main() {
    let n = berth_net::nft::NetworkRules {
        short_id: "0123456789ab".into(),
        bridge: "br-0123456789ab".into(),
        subnet: "172.18.0.0/16".parse().unwrap(),
        internal: std::env::args().any(|a| a == "internal"),
    };
    let p = berth_net::nft::PortRule {
        proto: "tcp".into(),
        host_ip: None,
        host_port: 8080,
        container_ip: std::net::Ipv4Addr::new(172, 18, 0, 2),
        container_port: 80,
    };
    if std::env::args().any(|a| a == "del") {
        print!(
            "{}",
            berth_net::nft::ports_del_script(std::slice::from_ref(&p))
        );
        print!("{}", berth_net::nft::network_del_script(&n));
    } else {
        print!("{}", berth_net::nft::base_script());
        print!("{}", berth_net::nft::network_add_script(&n));
        print!("{}", berth_net::nft::ports_add_script(&[p]));
    }
}

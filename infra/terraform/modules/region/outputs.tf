output "region" {
  description = "The region's name."
  value       = var.region
}

output "nodes" {
  description = "Every node: role, az, host, address, metrics address, argument list, shell command, certificate identity and file paths, systemd unit."
  value       = local.nodes
}

output "meta_addresses" {
  description = "Metadata nodes' addresses (the --meta list of every other role and of `meridian status`)."
  value       = local.meta_addr
}

output "gateway_addresses" {
  description = "Regional gateways' S3 addresses (HTTP, inside the region)."
  value       = [for g in local.gateway_list : local.addr[g.id]]
}

output "edge_links" {
  description = "Regional gateways' edge-link addresses (HTTP/3 on UDP for other regions' edges, HTTP/2 on TCP at the same port for this region's), for the edges' --regions."
  value       = [for g in local.gateway_list : "${local.host[g.id]}:${local.port[g.id].link}"]
}

output "certificates" {
  description = "Certificates to issue from the region CA: node id -> identity URI (role, id, region, AZ)."
  value       = { for id, n in local.nodes : id => n.identity }
}

output "az_loss_tolerant" {
  description = "Whether the layout survives the loss of one whole AZ (>= 4 AZs and room for 14 shards at <= 4 per AZ)."
  value       = local.az_tolerant
}

output "cloud_init" {
  description = "Node id -> cloud-init user-data that installs and starts the node's systemd unit."
  value       = local.cloud_init
}

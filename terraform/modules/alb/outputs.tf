output "security_group_id" {
  description = "Security group of the load balancer."
  value       = aws_security_group.alb.id
}

output "alb_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "alb_arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch LoadBalancer dimension)."
  value       = aws_lb.this.arn_suffix
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (point the service's DNS record here)."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the load balancer, for Route 53 alias records."
  value       = aws_lb.this.zone_id
}

output "target_group_arn" {
  description = "ARN of the target group, once the HTTPS listener forwards to it (ECS needs that before it creates the service)."
  value       = aws_lb_listener.https.default_action[0].target_group_arn
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group (CloudWatch TargetGroup dimension)."
  value       = aws_lb_target_group.this.arn_suffix
}

output "https_listener_arn" {
  description = "ARN of the HTTPS listener."
  value       = aws_lb_listener.https.arn
}

output "access_logs_bucket" {
  description = "S3 bucket of the load balancer's access logs (under alb/AWSLogs/<account>/elasticloadbalancing/<region>/)."
  value       = aws_s3_bucket.access_logs.id
}

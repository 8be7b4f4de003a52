output "cluster_name" {
  description = "ECS cluster."
  value       = module.ecs_service.cluster_name
}

output "service_name" {
  description = "ECS service."
  value       = module.ecs_service.service_name
}

output "task_definition_arn" {
  description = "Task definition revision Terraform registered."
  value       = module.ecs_service.task_definition_arn
}

output "ecr_repository_url" {
  description = "Where to push images."
  value       = module.ecs_service.ecr_repository_url
}

output "alb_dns_name" {
  description = "Load balancer DNS name (target of the api DNS record)."
  value       = module.alb.alb_dns_name
}

output "log_group_name" {
  description = "Container logs."
  value       = module.ecs_service.log_group_name
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = module.monitoring.dashboard_name
}

output "alarm_names" {
  description = "CloudWatch alarms."
  value       = module.monitoring.alarm_names
}

output "sns_topic_arns" {
  description = "Alert topics per severity."
  value       = module.monitoring.sns_topic_arns
}

output "database_url_secret_arn" {
  description = "Secret holding DATABASE_URL."
  value       = module.database.database_url_secret_arn
}

output "api_keys_secret_arn" {
  description = "Secret holding API_KEYS."
  value       = module.ecs_service.api_keys_secret_arn
}

output "access_logs_bucket" {
  description = "S3 bucket of the load balancer's access logs."
  value       = module.alb.access_logs_bucket
}

output "database_address" {
  description = "Host name of the database (target of an ECS Exec tunnel)."
  value       = module.database.address
}

output "exec_log_group_name" {
  description = "Log group of ECS Exec shell sessions."
  value       = module.ecs_service.exec_log_group_name
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "task_definition_arn" {
  description = "ARN (with revision) of the task definition Terraform registered."
  value       = aws_ecs_task_definition.this.arn
}

output "task_family" {
  description = "Family of the task definition."
  value       = aws_ecs_task_definition.this.family
}

output "ecr_repository_url" {
  description = "URL of the ECR repository to push images to."
  value       = aws_ecr_repository.this.repository_url
}

output "log_group_name" {
  description = "CloudWatch log group of the containers."
  value       = aws_cloudwatch_log_group.this.name
}

output "security_group_id" {
  description = "Security group of the tasks."
  value       = aws_security_group.tasks.id
}

output "api_keys_secret_arn" {
  description = "ARN of the Secrets Manager secret holding API_KEYS."
  value       = aws_secretsmanager_secret.api_keys.arn
}

output "execution_role_arn" {
  description = "ARN of the task execution role."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "ARN of the task role (ECS Exec agent permissions)."
  value       = aws_iam_role.task.arn
}

output "exec_log_group_name" {
  description = "CloudWatch log group of ECS Exec shell sessions."
  value       = aws_cloudwatch_log_group.exec.name
}

output "exec_kms_key_arn" {
  description = "KMS key that encrypts ECS Exec sessions (operators need kms:GenerateDataKey on it)."
  value       = aws_kms_key.exec.arn
}

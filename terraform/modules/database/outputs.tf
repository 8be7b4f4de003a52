output "database_url_secret_arn" {
  description = "ARN of the Secrets Manager secret holding DATABASE_URL."
  value       = aws_secretsmanager_secret.database_url.arn
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.db.id
}

output "address" {
  description = "Host name of the database."
  value       = aws_db_instance.this.address
}

output "instance_id" {
  description = "Identifier of the RDS instance."
  value       = aws_db_instance.this.identifier
}

output "parameter_group_name" {
  description = "DB parameter group of the instance (a point-in-time restore uses it too)."
  value       = aws_db_parameter_group.this.name
}

output "subnet_group_name" {
  description = "DB subnet group of the instance (a point-in-time restore uses it too)."
  value       = aws_db_subnet_group.this.name
}

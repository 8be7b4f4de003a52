output "sns_topic_arns" {
  description = "SNS topic per severity (critical, high, medium, low)."
  value       = local.topic_arn
}

output "alarm_names" {
  description = "Names of all alarms."
  value       = [for a in local.alarms : a.alarm_name]
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
